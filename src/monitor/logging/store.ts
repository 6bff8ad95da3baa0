import { existsSync, readdirSync } from 'node:fs';
import type { Tensor } from '../../protocol/index.js';
import type { CellValue } from '../live/summary.js';
import { cellReader, jsonKeys, jsonValue, rowJson, rowOutputs, type VersionLayout } from './layout.js';
import { decodePage, idHash, type LoggedCall, PageBuilder, type PageRow, specOf } from './page.js';
import { DAY_FILE, DAY_MS, DayFiles, dayFile, type FeedbackRow } from './schema.js';
import { LogWriter, type LogWriterOptions } from './writer.js';

export type { LoggedCall } from './page.js';
export { dayFile, type FeedbackRow } from './schema.js';
export type { LogWriterOptions } from './writer.js';

/**
 * The prediction log: one SQLite file per UTC day under `<home>/predictions/` (`2026-11-26.sqlite`).
 * SQLite because it is already embedded in Berth and is readable while it is written (WAL); a file per
 * day makes retention a file delete. Calls are stored in pages (page.ts): one row per model version
 * per drain, so the hot path pays for copying bytes, not for a B-tree insert per row. Request ids are
 * found for the feedback join through a 4-byte hash per call kept in each page, not through an SQLite
 * index: a random-key index costs a page write per insert once it outgrows the cache (10 µs a row
 * with UUID request ids, measured), and labels for calls older than the in-memory recent set are rare.
 * Writes go to one writer thread (writer.ts): the inserts, fsyncs and checkpoints of ~2 KB a row took
 * a fifth of the request thread's time on a wide model. Reads stay on the caller's thread, on their
 * own connections (WAL lets them run beside the writer); `flush()` first when they must see every
 * write posted so far.
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

/** What a request id was logged with, for the feedback join. */
export interface LoggedRequest {
  model: string;
  version: number | null;
  time: number;
  predictions: CellValue[];
}

const PAGE_COLUMNS = 'model, version, calls, spec, meta, request_ids, routes, data, predictions';

/** Calls waiting to be written, gathered into pages by day file, model and version. */
export class LogBatch {
  readonly pages: { file: string; page: PageBuilder }[] = [];
  rows = 0;
  /** A reusable list for a call's kept tensors (add() copies them before returning). */
  readonly scratch: Tensor[] = [];
  private readonly byKey = new Map<string, PageBuilder>();
  private last: PageBuilder | undefined;
  private lastDay = -1;

  /**
   * Adds one call. `tensors` are the kept tensors (keptTensors), the first `inputs` of them inputs;
   * `predictions` is undefined for calls that were not monitored (failed, or no version state).
   */
  add(
    ev: { time: number; model: string; seconds: number; status: number },
    version: number | null,
    requestId: string | null,
    experiment: string | null,
    variant: string | null,
    layout: VersionLayout | undefined,
    tensors: Tensor[],
    inputs: number,
    predictions: CellValue[] | undefined,
  ): void {
    const day = Math.floor(ev.time / DAY_MS);
    let p = this.last;
    // consecutive calls of one version go to the same page: no key to build on the hot path
    if (p === undefined || day !== this.lastDay || p.model !== ev.model || p.version !== version || (tensors.length > 0 && !p.fits(tensors, inputs))) {
      const file = dayFile(ev.time);
      const key = `${file}\u0000${ev.model}\u0000${version}`;
      p = this.byKey.get(key);
      if (p === undefined || (tensors.length > 0 && !p.fits(tensors, inputs))) {
        p = new PageBuilder(ev.model, version, specOf(layout, tensors, inputs));
        this.byKey.set(key, p);
        this.pages.push({ file, page: p });
      }
      this.last = p;
      this.lastDay = day;
    }
    p.add(ev.time, ev.seconds, ev.status, requestId, experiment, variant, tensors, predictions);
    this.rows += predictions === undefined || predictions.length === 0 ? 1 : predictions.length;
  }
}

/** The prediction store: appends batches (through its writer thread), looks up request ids, reads time ranges back. */
export class PredictionStore {
  /** Read connections (the writer thread has its own). */
  private readonly reads: DayFiles;
  private readonly writer: LogWriter;

  constructor(
    readonly dir: string,
    opts: LogWriterOptions = {},
  ) {
    this.reads = new DayFiles(dir, 4);
    this.writer = new LogWriter(dir, opts);
  }

  private db(file: string) {
    return this.reads.get(file);
  }

  /** Day files present, newest first. */
  files(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => DAY_FILE.test(f))
      .sort()
      .reverse();
  }

  /**
   * Hands a batch's pages to the writer thread (their blobs are transferred: the batch must not be
   * used after). Returns false when they were dropped instead: more than the bound already in flight,
   * or the writer restarting; the dropped rows go to `onDropped`.
   */
  append(batch: LogBatch): boolean {
    return this.writer.pages(batch.pages.filter(({ page }) => page.calls > 0));
  }

  /** Records joined labels in the file of the day they arrived (written by the writer thread). */
  appendFeedback(rows: FeedbackRow[]): void {
    if (rows.length === 0) return;
    this.writer.feedback(dayFile(rows[0]?.time ?? Date.now()), rows);
  }

  /** Resolves once everything appended so far is committed (or was lost with a crashed writer, and counted): reads after it see it. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  /**
   * Deletes the day files whose whole day ended more than `retentionMs` before `now` (their labels
   * with them); returns their names. The deletes run on the writer thread after the writes posted before.
   */
  prune(retentionMs: number, now = Date.now()): string[] {
    const old = this.files().filter((f) => Date.parse(`${DAY_FILE.exec(f)?.[1]}T00:00:00Z`) + DAY_MS <= now - retentionMs);
    for (const f of old) this.reads.drop(f);
    this.writer.prune(old);
    return old;
  }

  /** Ends the writer thread as a crash would (for tests); the next append starts a new one. */
  crashWriter(): void {
    this.writer.crash();
  }

  /**
   * The newest successful logged call of each request id (newest day files first), in one pass over
   * the pages' id hashes; ids never logged are missing from the answer.
   */
  findRequests(requestIds: string[], maxFiles = 31): Map<string, LoggedRequest> {
    const found = new Map<string, LoggedRequest>();
    const wanted = new Map<number, Set<string>>();
    for (const id of requestIds) {
      const h = idHash(id);
      const set = wanted.get(h);
      if (set === undefined) wanted.set(h, new Set([id]));
      else set.add(id);
    }
    let left = new Set(requestIds).size;
    for (const file of this.files().slice(0, maxFiles)) {
      if (left === 0) break;
      const db = this.db(file);
      const full = db.prepare(`SELECT ${PAGE_COLUMNS} FROM pages WHERE id = ?`);
      const hits: number[] = [];
      // the hashes are scanned first (the connection is busy while iterating), the few hit pages decoded after
      for (const { id, hashes } of db.prepare('SELECT id, id_hashes AS hashes FROM pages ORDER BY id DESC').iterate() as Iterable<{ id: number; hashes: Buffer }>) {
        const view = new Int32Array(hashes.buffer.slice(hashes.byteOffset, hashes.byteOffset + hashes.byteLength));
        for (let c = 0; c < view.length; c++) {
          if (wanted.has(view[c] as number)) {
            hits.push(id);
            break;
          }
        }
      }
      for (const id of hits) {
        const calls: LoggedCall[] = [];
        const isWanted = (rid: string | null): boolean => rid !== null && !found.has(rid) && wanted.get(idHash(rid))?.has(rid) === true;
        decodePage(
          full.get(id) as PageRow,
          (call) => {
            calls.push(call);
            return true;
          },
          { only: isWanted, tensors: false },
        );
        for (let c = calls.length - 1; c >= 0; c--) {
          const call = calls[c] as LoggedCall;
          const rid = call.requestId;
          if (rid === null || found.has(rid) || call.status !== 200 || call.rows === 0) continue;
          found.set(rid, { model: call.model, version: call.version, time: call.time, predictions: call.predictions });
          left--;
        }
        if (left === 0) break;
      }
    }
    return found;
  }

  /** Logged calls of a model in [from, to), page by page in the order they were written, until `each` returns false. */
  scanCalls(model: string, from: number, to: number, each: (call: LoggedCall) => boolean | undefined): void {
    for (const file of this.files().reverse()) {
      const day = Date.parse(`${DAY_FILE.exec(file)?.[1]}T00:00:00Z`);
      if (day + DAY_MS <= from || day >= to) continue;
      const it = this.db(file)
        .prepare(`SELECT ${PAGE_COLUMNS} FROM pages WHERE model = ? AND first_time < ? AND last_time >= ? ORDER BY first_time, id`)
        .iterate(model, to, from) as Iterable<PageRow>;
      for (const page of it) {
        const more = decodePage(page, (call) => (call.time < from || call.time >= to ? true : each(call)));
        if (!more) return;
      }
    }
  }

  /** Logged rows of a model in [from, to), call by call, handed to `each` one at a time until it returns false. */
  scan(model: string, from: number, to: number, each: (row: LoggedRow) => boolean | undefined): void {
    this.scanCalls(model, from, to, (call) => {
      const base = {
        time: call.time,
        model: call.model,
        version: call.version,
        requestId: call.requestId,
        status: call.status,
        seconds: call.seconds,
        experiment: call.experiment,
        variant: call.variant,
      };
      if (call.rows === 0 || call.layout === null) return each({ ...base, row: 0, inputs: null, prediction: null, outputs: null });
      const layout = call.layout;
      const keys = jsonKeys(layout);
      const reader = cellReader(layout, call.inputs);
      const outputs = rowOutputs(call.outputs, call.rows);
      for (let i = 0; i < call.rows; i++) {
        const row: LoggedRow = {
          ...base,
          row: i,
          inputs: layout.mode === 'none' ? null : rowJson(keys, reader, i),
          prediction: jsonValue(call.predictions[i]),
          outputs: outputs[i] ?? null,
        };
        if (each(row) === false) return false;
      }
      return true;
    });
  }

  /** Labels of a model that arrived in [from, to). */
  feedback(model: string, from: number, to: number): FeedbackRow[] {
    const out: FeedbackRow[] = [];
    for (const file of this.files().reverse()) {
      const day = Date.parse(`${DAY_FILE.exec(file)?.[1]}T00:00:00Z`);
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

  /** Closes the read connections, then commits what was appended and ends the writer thread. */
  close(): Promise<void> {
    this.reads.close();
    return this.writer.close();
  }
}
