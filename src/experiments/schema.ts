import type Database from 'better-sqlite3';

/**
 * The experiments database. `exp_arms` holds each arm's n, Σx and Σx² so that a report reads a
 * handful of rows; `exp_units` holds each unit's variant and current value (for deduplication);
 * `exp_requests` maps request ids to units so that outcomes can name a response.
 */
export const EXPERIMENTS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS experiments (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'stopped')),
    created_at TEXT NOT NULL,
    stopped_at TEXT
  );
  CREATE TABLE IF NOT EXISTS exp_arms (
    experiment TEXT NOT NULL,
    variant TEXT NOT NULL,
    n INTEGER NOT NULL DEFAULT 0,
    sum REAL NOT NULL DEFAULT 0,
    sumsq REAL NOT NULL DEFAULT 0,
    msprt_p REAL NOT NULL DEFAULT 1,
    PRIMARY KEY (experiment, variant)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS exp_units (
    experiment TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    variant TEXT NOT NULL,
    value REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (experiment, unit_id)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS exp_requests (
    experiment TEXT NOT NULL,
    request_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    PRIMARY KEY (experiment, request_id)
  ) WITHOUT ROWID;`;

/**
 * Pragmas for a connection that writes exposures (both are per connection). Exposures insert all
 * over exp_units and exp_requests: a larger page cache keeps their B-trees' pages in memory, and a
 * larger WAL copies a page rewritten by many batches back once, not per batch.
 */
export function tuneForExposures(db: Database.Database): Database.Database {
  db.pragma('cache_size = -32768');
  db.pragma('wal_autocheckpoint = 4096');
  return db;
}
