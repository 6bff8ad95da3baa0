import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { startThread } from '../../runtime/index.js';
import type { PageBuilder } from './page.js';
import type { FeedbackRow, FromWriter, PageMessage, ToWriter, WriterInit } from './schema.js';

/** Bytes of pages posted to the writer thread and not yet committed, beyond which new pages are dropped. */
export const DEFAULT_MAX_PENDING_BYTES = 16 * 1024 * 1024;

export interface LogWriterOptions {
  /** Bytes in flight to the writer thread before new pages are dropped (default 16 MiB). */
  maxPendingBytes?: number;
  /** Called with the rows of pages that were dropped (over the bound, writer restarting) or lost (writer crashed, write failed). */
  onDropped?: (model: string, rows: number) => void;
  logger?: Pick<Logger, 'warn' | 'error'>;
}

/** A write posted and not yet answered: what is lost with it if the writer dies. */
interface Pending {
  bytes: number;
  pages: { model: string; rows: number }[];
  feedbackRows: number;
}

/**
 * The main thread's side of the writer thread (writer-thread.ts): posts pages with their blobs
 * transferred (not copied), keeps at most `maxPendingBytes` in flight, and replaces a writer that
 * dies, counting what it took with it as dropped. The thread starts with the first write, so a store
 * opened only to read (reports, benches) never starts one.
 */
export class LogWriter {
  private worker: Worker | undefined;
  private seq = 0;
  private acked = 0;
  private readonly pending = new Map<number, Pending>();
  private pendingBytes = 0;
  private waiters: { seq: number; resolve: () => void }[] = [];
  private readonly maxPendingBytes: number;
  private started = 0;
  private crashes = 0;
  /** After quick successive crashes, writes are dropped until this time rather than restarting at once. */
  private downUntil = 0;
  private exitedPromise: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly opts: LogWriterOptions = {},
  ) {
    this.maxPendingBytes = opts.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
  }

  /** Posts built pages to the writer; false when they were dropped (and counted) instead. */
  pages(pages: { file: string; page: PageBuilder }[]): boolean {
    if (pages.length === 0) return true;
    const lost = pages.map(({ page }) => ({ model: page.model, rows: page.loggedRows }));
    const full = this.pendingBytes >= this.maxPendingBytes;
    const worker = full || this.closed || Date.now() < this.downUntil ? undefined : this.writer();
    if (worker === undefined) {
      this.drop(lost);
      return false;
    }
    const msgs: PageMessage[] = [];
    const transfer = new Set<ArrayBuffer>();
    let bytes = 0;
    for (const { file, page } of pages) {
      const columns = page.encode();
      for (const c of columns) {
        if (c instanceof Uint8Array) {
          bytes += c.byteLength;
          transfer.add(c.buffer as ArrayBuffer);
        } else if (typeof c === 'string') bytes += c.length;
      }
      msgs.push({ file, model: page.model, version: page.version, columns });
    }
    // one write larger than the bound still goes when nothing is in flight, or it could never be logged
    if (this.pendingBytes > 0 && this.pendingBytes + bytes > this.maxPendingBytes) {
      this.drop(lost);
      return false;
    }
    this.post(worker, { op: 'pages', seq: 0, pages: msgs }, { bytes, pages: lost, feedbackRows: 0 }, [...transfer]);
    return true;
  }

  /** Posts labeled rows to be written to `file` (never dropped for the bound: they are few and small). */
  feedback(file: string, rows: FeedbackRow[]): void {
    const worker = this.closed ? undefined : this.writer();
    if (worker === undefined) {
      this.opts.logger?.error({ rows: rows.length }, 'prediction log is closed; labels not written');
      return;
    }
    this.post(worker, { op: 'feedback', seq: 0, file, rows }, { bytes: 0, pages: [], feedbackRows: rows.length }, []);
  }

  /** Deletes day files (the writer thread closes its connections to them first). */
  prune(files: string[]): void {
    const worker = this.closed || files.length === 0 ? undefined : this.writer();
    if (worker !== undefined) this.post(worker, { op: 'prune', seq: 0, files }, { bytes: 0, pages: [], feedbackRows: 0 }, []);
  }

  /** Resolves once every write posted so far is committed (or lost with a crashed writer, and counted). */
  flush(): Promise<void> {
    if (this.acked >= this.seq) return Promise.resolve();
    const seq = this.seq;
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  /** Ends the writer thread as a crash would (for tests): the writes it had not answered are lost and counted. */
  crash(): void {
    this.worker?.postMessage({ op: 'crash' } satisfies ToWriter);
  }

  /** Commits what was posted, then ends the writer thread. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      const w = this.worker;
      if (w !== undefined) {
        w.ref();
        // 'exit' is handled after every write posted before it
        w.postMessage({ op: 'exit' } satisfies ToWriter);
        setTimeout(() => void w.terminate(), 10_000).unref();
      }
    }
    return this.exitedPromise ?? Promise.resolve();
  }

  /** The running writer, started if there is none. */
  private writer(): Worker {
    if (this.worker !== undefined) return this.worker;
    const { worker: w, exited } = startThread<FromWriter>(import.meta.url, './writer-thread.js', { dir: this.dir } satisfies WriterInit, {
      message: (m) => this.answer(m),
      exit: (code) => this.exited(w, code),
      error: (e) => this.opts.logger?.error({ err: e.message }, 'prediction log writer failed'),
    });
    this.worker = w;
    this.started = Date.now();
    this.exitedPromise = exited;
    return w;
  }

  private post(w: Worker, msg: ToWriter & { seq: number }, pending: Pending, transfer: ArrayBuffer[]): void {
    msg.seq = ++this.seq;
    if (this.pending.size === 0) w.ref();
    this.pending.set(msg.seq, pending);
    this.pendingBytes += pending.bytes;
    try {
      w.postMessage(msg, transfer);
    } catch {
      // a buffer that cannot be transferred: clone instead
      w.postMessage(msg);
    }
  }

  private answer(m: FromWriter): void {
    const p = this.pending.get(m.seq);
    if (p !== undefined) {
      this.pending.delete(m.seq);
      this.pendingBytes -= p.bytes;
      if (m.error !== undefined) {
        const lost = p.pages.filter((_, i) => m.failed?.includes(i));
        this.opts.logger?.error({ err: m.error, rows: lost.reduce((n, x) => n + x.rows, 0), labels: p.feedbackRows }, 'prediction log write failed; rows lost');
        this.drop(lost);
      }
    }
    this.acked = Math.max(this.acked, m.seq);
    if (this.pending.size === 0) this.worker?.unref();
    this.wake();
  }

  /** The writer ended: what it had not committed is counted as dropped; the next write starts a new one. */
  private exited(w: Worker, code: number): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    let rows = 0;
    let labels = 0;
    for (const p of this.pending.values()) {
      this.drop(p.pages);
      rows += p.pages.reduce((n, x) => n + x.rows, 0);
      labels += p.feedbackRows;
    }
    this.pending.clear();
    this.pendingBytes = 0;
    this.acked = this.seq;
    this.wake();
    if (this.closed && code === 0) return;
    const now = Date.now();
    // a writer that keeps dying right after it starts (a full disk, a corrupt file) is restarted with backoff, up to 5 s
    this.crashes = now - this.started < 10_000 ? this.crashes + 1 : 1;
    this.downUntil = this.crashes <= 1 ? 0 : now + Math.min(5_000, 50 * 2 ** this.crashes);
    this.opts.logger?.error({ code, rows, labels }, 'prediction log writer exited; its pending rows are counted as dropped, a new writer starts with the next write');
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((x) => x.seq <= this.acked);
    this.waiters = this.waiters.filter((x) => x.seq > this.acked);
    for (const x of ready) x.resolve();
  }

  private drop(lost: { model: string; rows: number }[]): void {
    const onDropped = this.opts.onDropped;
    if (onDropped === undefined || lost.length === 0) return;
    const byModel = new Map<string, number>();
    for (const { model, rows } of lost) byModel.set(model, (byModel.get(model) ?? 0) + rows);
    for (const [model, rows] of byModel) onDropped(model, rows);
  }
}
