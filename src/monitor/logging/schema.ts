import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqlite } from '../../sqlite.js';

/** The prediction log's day files: their tables, names and the statements that fill them (shared by the writer thread and the readers). */

const SCHEMA = `
-- id_hashes comes before the large columns: the feedback join reads it from every page, and SQLite
-- reads a record only as far as the column it needs
CREATE TABLE IF NOT EXISTS pages (
  id INTEGER PRIMARY KEY, model TEXT NOT NULL, version INTEGER, first_time INTEGER NOT NULL, last_time INTEGER NOT NULL,
  calls INTEGER NOT NULL, rows INTEGER NOT NULL, id_hashes BLOB NOT NULL, spec TEXT NOT NULL, meta BLOB NOT NULL,
  request_ids TEXT NOT NULL, routes TEXT, data BLOB NOT NULL, predictions TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pages_model_time ON pages (model, first_time);
CREATE TABLE IF NOT EXISTS feedback (
  time INTEGER NOT NULL, request_id TEXT NOT NULL, row INTEGER NOT NULL, model TEXT NOT NULL, version INTEGER,
  prediction TEXT, label TEXT NOT NULL, predicted_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_model_time ON feedback (model, time);
`;

/** The page columns in PageBuilder.encode()'s order, after model and version. */
export const INSERT_PAGE =
  'INSERT INTO pages (model, version, first_time, last_time, calls, rows, id_hashes, spec, meta, request_ids, routes, data, predictions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
export const INSERT_FEEDBACK = 'INSERT INTO feedback (time, request_id, row, model, version, prediction, label, predicted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)';

export const DAY_MS = 86_400_000;
/** A day file's name: `2026-11-26.sqlite`. */
export const DAY_FILE = /^(\d{4}-\d{2}-\d{2})\.sqlite$/;

/** The file name of the day that holds time t. */
export const dayFile = (t: number): string => `${new Date(t - (t % DAY_MS)).toISOString().slice(0, 10)}.sqlite`;

/** A labeled prediction as stored (feedback table). */
export interface FeedbackRow {
  time: number;
  requestId: string;
  row: number;
  model: string;
  version: number | null;
  prediction: string | null;
  label: string;
  predictedAt: number;
}

/**
 * Day files opened on demand, at most `keep` at a time, the least recently used closed first (traffic
 * writes today's file, and yesterday's for a few late calls; older ones are reopened when read).
 */
export class DayFiles {
  private readonly open = new Map<string, Database.Database>();

  constructor(
    readonly dir: string,
    private readonly keep: number,
  ) {}

  /** The connection to a day file, creating the file and its tables the first time. */
  get(file: string): Database.Database {
    let db = this.open.get(file);
    if (db !== undefined) {
      // the map's order is the order of use: the least recently used file is closed first
      this.open.delete(file);
      this.open.set(file, db);
      return db;
    }
    db = openSqlite(join(this.dir, file));
    db.exec(SCHEMA);
    this.open.set(file, db);
    if (this.open.size > this.keep) {
      // never the file just opened (closing "the oldest by name" closed it when it was the oldest)
      const [lru, conn] = this.open.entries().next().value as [string, Database.Database];
      conn.close();
      this.open.delete(lru);
    }
    return db;
  }

  /** Closes a file's connection if it is open. */
  drop(file: string): void {
    this.open.get(file)?.close();
    this.open.delete(file);
  }

  /** Closes every open file. */
  close(): void {
    for (const db of this.open.values()) db.close();
    this.open.clear();
  }
}

/** What the writer thread is started with. */
export interface WriterInit {
  dir: string;
}

/** A page as posted to the writer thread: its day file, its model version and PageBuilder.encode()'s columns. */
export interface PageMessage {
  file: string;
  model: string;
  version: number | null;
  columns: unknown[];
}

/** Main thread -> writer thread. `seq` numbers the writes; the writer answers each in order. */
export type ToWriter =
  | { op: 'pages'; seq: number; pages: PageMessage[] }
  | { op: 'feedback'; seq: number; file: string; rows: FeedbackRow[] }
  | { op: 'prune'; seq: number; files: string[] }
  | { op: 'crash' }
  | { op: 'exit' };

/** Writer thread -> main thread: write `seq` is committed, except the pages listed in `failed` (by index) when `error` is set. */
export interface FromWriter {
  seq: number;
  error?: string;
  failed?: number[];
}
