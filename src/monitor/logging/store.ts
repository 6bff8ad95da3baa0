import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqlite } from '../../sqlite.js';

/**
 * The prediction log: one SQLite file per UTC day under `<home>/predictions/` (`2026-11-26.sqlite`).
 * SQLite because it is already embedded in Berth, takes a batch of rows in one transaction for a few
 * microseconds a row, is readable while it is written (WAL), and answers the feedback join by
 * request id through an index; a file per day makes retention a file delete and keeps each index small.
 */

/** One logged row as read back: a row of a request's input tensor with its prediction. */
export interface LoggedRow {
  time: number;
  model: string;
  version: number | null;
  requestId: string | null;
  /** Row index within the request (a [N, F] request logs N rows). */
  row: number;
  status: number;
  seconds: number;
  experiment: string | null;
  variant: string | null;
  /** JSON object of named input values (null for failed calls and non-tabular models). */
  inputs: string | null;
  /** JSON of the prediction value. */
  prediction: string | null;
  /** JSON object of this row's outputs. */
  outputs: string | null;
}

/** A label joined to its logged prediction. */
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS predictions (
  time INTEGER NOT NULL, model TEXT NOT NULL, version INTEGER, request_id TEXT, row INTEGER NOT NULL,
  status INTEGER NOT NULL, seconds REAL NOT NULL, experiment TEXT, variant TEXT,
  inputs TEXT, prediction TEXT, outputs TEXT
);
-- request_id answers the feedback join; rows arrive in time order, so a report scans its day files without an index
CREATE INDEX IF NOT EXISTS predictions_request ON predictions (request_id);
CREATE TABLE IF NOT EXISTS feedback (
  time INTEGER NOT NULL, request_id TEXT NOT NULL, row INTEGER NOT NULL, model TEXT NOT NULL, version INTEGER,
  prediction TEXT, label TEXT NOT NULL, predicted_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_model_time ON feedback (model, time);
`;

const DAY_MS = 86_400_000;
/** Rows per INSERT statement. */
const INSERT_ROWS = 64;

/** Values per logged row, in the INSERT's column order. */
export const LOG_FIELDS = 12;

/**
 * Rows waiting to be written, kept flat per day file (time, model, version, request_id, row, status,
 * seconds, experiment, variant, inputs, prediction, outputs): no object per row, nothing to copy later.
 */
export class LogBatch {
  readonly byFile = new Map<string, unknown[]>();
  rows = 0;
  private lastDay = -1;
  private last: unknown[] = [];

  /** The flat value list of the day that holds time t (append LOG_FIELDS values per row to it). */
  at(t: number): unknown[] {
    const day = Math.floor(t / DAY_MS);
    if (day !== this.lastDay) {
      const file = dayFile(t);
      let list = this.byFile.get(file);
      if (list === undefined) {
        list = [];
        this.byFile.set(file, list);
      }
      this.lastDay = day;
      this.last = list;
    }
    this.rows++;
    return this.last;
  }
}
const FILE = /^(\d{4}-\d{2}-\d{2})\.sqlite$/;

/** The file name of the day that holds time t. */
export const dayFile = (t: number): string => `${new Date(t - (t % DAY_MS)).toISOString().slice(0, 10)}.sqlite`;

/** The prediction store: appends batches, looks up request ids, reads time ranges back. */
export class PredictionStore {
  private readonly open = new Map<string, Database.Database>();
  private readonly statements = new WeakMap<Database.Database, Map<number, Database.Statement>>();

  constructor(readonly dir: string) {}

  private db(file: string): Database.Database {
    let db = this.open.get(file);
    if (db === undefined) {
      db = openSqlite(join(this.dir, file));
      db.exec(SCHEMA);
      this.open.set(file, db);
      // keep today's and yesterday's files open; older ones are reopened when read
      if (this.open.size > 4) {
        const oldest = [...this.open.keys()].sort()[0] as string;
        this.open.get(oldest)?.close();
        this.open.delete(oldest);
      }
    }
    return db;
  }

  /** Day files present, newest first. */
  files(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => FILE.test(f))
      .sort()
      .reverse();
  }

  /** Writes a batch, one transaction per day file. */
  append(batch: LogBatch): void {
    for (const [file, values] of batch.byFile) {
      const db = this.db(file);
      const rows = values.length / LOG_FIELDS;
      db.transaction(() => {
        // many rows per statement: binding and stepping once per row costs more than the row itself
        let i = 0;
        for (; i + INSERT_ROWS <= rows; i += INSERT_ROWS) this.insert(db, INSERT_ROWS).run(values.slice(i * LOG_FIELDS, (i + INSERT_ROWS) * LOG_FIELDS));
        if (i < rows) this.insert(db, rows - i).run(values.slice(i * LOG_FIELDS));
      })();
    }
  }

  private insert(db: Database.Database, rows: number): Database.Statement {
    let cache = this.statements.get(db);
    if (cache === undefined) {
      cache = new Map();
      this.statements.set(db, cache);
    }
    let st = cache.get(rows);
    if (st === undefined) {
      const values = new Array(rows).fill('(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
      st = db.prepare(`INSERT INTO predictions (time, model, version, request_id, row, status, seconds, experiment, variant, inputs, prediction, outputs) VALUES ${values}`);
      cache.set(rows, st);
    }
    return st;
  }

  /** Records joined labels in the file of the day they arrived. */
  appendFeedback(rows: FeedbackRow[]): void {
    if (rows.length === 0) return;
    const db = this.db(dayFile(rows[0]?.time ?? Date.now()));
    const insert = db.prepare(
      'INSERT INTO feedback (time, request_id, row, model, version, prediction, label, predicted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    db.transaction(() => {
      for (const r of rows) insert.run(r.time, r.requestId, r.row, r.model, r.version, r.prediction, r.label, r.predictedAt);
    })();
  }

  /** The logged successful rows of a request id (newest day files first), or undefined. */
  findRequest(requestId: string, maxFiles = 31): { model: string; version: number | null; time: number; predictions: (string | null)[] } | undefined {
    for (const file of this.files().slice(0, maxFiles)) {
      const rows = this.db(file)
        .prepare('SELECT model, version, time, row, prediction FROM predictions WHERE request_id = ? AND status = 200 ORDER BY row')
        .all(requestId) as { model: string; version: number | null; time: number; row: number; prediction: string | null }[];
      const first = rows[0];
      if (first !== undefined) return { model: first.model, version: first.version, time: first.time, predictions: rows.map((r) => r.prediction) };
    }
    return undefined;
  }

  /** Logged rows of a model in [from, to), oldest first, handed to `each` one at a time until it returns false. */
  scan(model: string, from: number, to: number, each: (row: LoggedRow) => boolean | undefined): void {
    for (const file of this.files().reverse()) {
      const day = Date.parse(`${FILE.exec(file)?.[1]}T00:00:00Z`);
      if (day + DAY_MS <= from || day >= to) continue;
      const it = this.db(file)
        .prepare(
          'SELECT time, model, version, request_id AS requestId, row, status, seconds, experiment, variant, inputs, prediction, outputs FROM predictions WHERE model = ? AND time >= ? AND time < ? ORDER BY time',
        )
        .iterate(model, from, to) as Iterable<LoggedRow>;
      for (const r of it) if (each(r) === false) return;
    }
  }

  /** Labels of a model that arrived in [from, to). */
  feedback(model: string, from: number, to: number): FeedbackRow[] {
    const out: FeedbackRow[] = [];
    for (const file of this.files().reverse()) {
      const day = Date.parse(`${FILE.exec(file)?.[1]}T00:00:00Z`);
      if (day + DAY_MS <= from || day >= to) continue;
      const rows = this.db(file)
        .prepare(
          'SELECT time, request_id AS requestId, row, model, version, prediction, label, predicted_at AS predictedAt FROM feedback WHERE model = ? AND time >= ? AND time < ? ORDER BY time',
        )
        .all(model, from, to) as FeedbackRow[];
      out.push(...rows);
    }
    return out;
  }

  /** Closes every open file. */
  close(): void {
    for (const db of this.open.values()) db.close();
    this.open.clear();
  }
}
