import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Opens an embedded SQLite database the way every Berth store wants it: parent directory created,
 * a busy timeout set first (the pragmas after it may wait for another process's lock), WAL, and
 * `synchronous = NORMAL` (under WAL a committed transaction survives a kill -9 of the process; only
 * an OS crash can lose the last commits). ':memory:' works and stays in memory mode.
 */
export function openSqlite(path: string, busyTimeoutMs = 5_000): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/**
 * Tells whether other connections (other processes) committed to a database since the last call:
 * SQLite's `data_version`, cheap enough to poll. The first call after creation compares with the
 * version at creation.
 */
export function changeWatcher(db: Database.Database): () => boolean {
  const read = () => Number(db.pragma('data_version', { simple: true }));
  let seen = read();
  return () => {
    const v = read();
    const changed = v !== seen;
    seen = v;
    return changed;
  };
}
