import type Database from 'better-sqlite3';
import { type Migration, refuseNewerSchema, targetVersion } from '../migrations.js';

/**
 * Ordered schema migrations. Each one runs once, in its own IMMEDIATE transaction together with the
 * row that records it in `schema_version`, so a crash mid-migration leaves the previous version.
 * Append new migrations; never edit one that has shipped.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE models (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        description   TEXT NOT NULL DEFAULT '',
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        -- the number the next version gets; only ever grows, so deleted numbers are never reused
        next_version  INTEGER NOT NULL DEFAULT 1
      );

      CREATE TABLE model_tags (
        model_id  INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        key       TEXT NOT NULL,
        value     TEXT NOT NULL,
        PRIMARY KEY (model_id, key)
      ) WITHOUT ROWID;

      CREATE TABLE versions (
        model_id          INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        version           INTEGER NOT NULL,
        sha256            TEXT NOT NULL,
        size_bytes        INTEGER NOT NULL,
        format            TEXT NOT NULL DEFAULT 'onnx',
        description       TEXT NOT NULL DEFAULT '',
        signature         TEXT NOT NULL,            -- JSON Signature
        source            TEXT,
        lineage           TEXT NOT NULL DEFAULT '{}', -- JSON Record<string, string>
        reference         TEXT,                     -- JSON ReferenceDataset
        reference_sha256  TEXT,                     -- copied out of reference for the index below
        created_at        TEXT NOT NULL,
        PRIMARY KEY (model_id, version)
      );
      CREATE INDEX versions_sha256 ON versions(sha256);
      CREATE INDEX versions_reference_sha256 ON versions(reference_sha256);

      CREATE TABLE version_tags (
        model_id  INTEGER NOT NULL,
        version   INTEGER NOT NULL,
        key       TEXT NOT NULL,
        value     TEXT NOT NULL,
        PRIMARY KEY (model_id, version, key),
        FOREIGN KEY (model_id, version) REFERENCES versions(model_id, version) ON DELETE CASCADE
      ) WITHOUT ROWID;

      CREATE TABLE version_metrics (
        model_id  INTEGER NOT NULL,
        version   INTEGER NOT NULL,
        key       TEXT NOT NULL,
        value     REAL NOT NULL,
        PRIMARY KEY (model_id, version, key),
        FOREIGN KEY (model_id, version) REFERENCES versions(model_id, version) ON DELETE CASCADE
      ) WITHOUT ROWID;

      CREATE TABLE aliases (
        model_id    INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        alias       TEXT NOT NULL,
        version     INTEGER NOT NULL,
        -- JSON array of the versions this alias pointed to before, oldest first: the rollback stack
        previous    TEXT NOT NULL DEFAULT '[]',
        updated_at  TEXT NOT NULL,
        PRIMARY KEY (model_id, alias),
        -- the database itself refuses to delete a version an alias points at
        FOREIGN KEY (model_id, version) REFERENCES versions(model_id, version) ON DELETE RESTRICT
      ) WITHOUT ROWID;

      CREATE TABLE alias_history (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        model_id          INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        alias             TEXT NOT NULL,
        version           INTEGER,
        previous_version  INTEGER,
        action            TEXT NOT NULL CHECK (action IN ('set', 'delete', 'rollback')),
        actor             TEXT,
        at                TEXT NOT NULL
      );
      CREATE INDEX alias_history_model_alias ON alias_history(model_id, alias, id);
    `,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = targetVersion(MIGRATIONS);

/** Brings the database up to SCHEMA_VERSION; refuses a database written by a newer Berth. */
export function migrate(db: Database.Database): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,
    applied_at  TEXT NOT NULL
  )`);
  const current = (): number =>
    (db.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_version').get() as { v: number }).v;

  const found = current();
  refuseNewerSchema(found, SCHEMA_VERSION);
  for (const migration of MIGRATIONS) {
    // Re-read inside the transaction: another process may have migrated while we waited for the lock.
    db.transaction(() => {
      if (current() >= migration.version) return;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (?, ?)').run(
        migration.version,
        new Date().toISOString(),
      );
    }).immediate();
  }
  return current();
}
