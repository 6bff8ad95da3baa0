import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { startThread } from '../runtime/index.js';
import { batchBytes, batchSize, type ExposureBatch, type ExposureThreadInit, type FromExposureThread, type ToExposureThread } from './exposures.js';

/** Bytes of batches posted to the writer thread and not yet committed, beyond which batches wait on the main thread. */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024;
/** Bytes of batches waiting on the main thread (writer stuck or slow) beyond which new batches are dropped. */
export const DEFAULT_MAX_WAITING_BYTES = 64 * 1024 * 1024;
/** How often one batch is posted to a writer before a writer's death loses it. */
const ATTEMPTS = 2;

export interface ExposureWriterOptions {
  maxInFlightBytes?: number;
  maxWaitingBytes?: number;
  logger?: Pick<Logger, 'warn' | 'error'>;
}

/** A batch accepted and not yet settled. */
interface Entry {
  batch: ExposureBatch;
  bytes: number;
  posted: boolean;
  attempts: number;
  done: Promise<void>;
  settle: () => void;
}

/**
 * The main thread's side of the exposure writer thread (exposure-thread.ts). Batches are posted in
 * order, at most `maxInFlightBytes` at a time (the rest wait here, in order); each settles once
 * committed. A writer that dies is replaced at once and the batches it had not answered are posted
 * again to the new one: applying a batch twice changes nothing (INSERT OR IGNORE, and n counts
 * inserted units only), so a crash loses nothing unless the same batch is in flight through two
 * deaths. What is lost (that, a failed write, or a batch over the waiting bound) is counted in
 * `lost` and logged. The thread starts with the first batch, so a store opened to read never starts one.
 */
export class ExposureWriter {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly entries = new Map<number, Entry>();
  private inFlightBytes = 0;
  private waitingBytes = 0;
  private readonly maxInFlightBytes: number;
  private readonly maxWaitingBytes: number;
  private exited: Promise<void> = Promise.resolve();
  private closed = false;
  /** Exposures lost (writer died twice with them, a write failed, or dropped over the bound). */
  lost = 0;
  /** Writer threads started (a restart after a crash counts). */
  starts = 0;

  constructor(
    readonly path: string,
    private readonly opts: ExposureWriterOptions = {},
  ) {
    this.maxInFlightBytes = opts.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES;
    this.maxWaitingBytes = opts.maxWaitingBytes ?? DEFAULT_MAX_WAITING_BYTES;
  }

  /** Queues a batch for the writer; resolves once it is committed (or lost, and counted). */
  write(batch: ExposureBatch): Promise<void> {
    const bytes = batchBytes(batch);
    if (this.closed || (this.waitingBytes > 0 && this.waitingBytes + bytes > this.maxWaitingBytes)) {
      this.lose(batch, this.closed ? 'exposure writer is closed' : 'exposure writer is behind by more than its bound');
      return Promise.resolve();
    }
    let settle = () => {};
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    this.entries.set(++this.seq, { batch, bytes, posted: false, attempts: 0, done, settle });
    this.waitingBytes += bytes;
    this.pump();
    return done;
  }

  /** Resolves once every batch written so far is committed (or lost, and counted). */
  flush(): Promise<void> {
    if (this.entries.size === 0) return Promise.resolve();
    return Promise.all([...this.entries.values()].map((e) => e.done)).then(() => {});
  }

  /** Ends the writer thread at once, as a native crash would (tests): its unanswered batches go to the next writer. */
  crash(): Promise<number> {
    return this.worker?.terminate() ?? Promise.resolve(0);
  }

  /** Commits everything written, then ends the writer thread. */
  async close(): Promise<void> {
    // a batch written while an earlier one commits is waited for too
    while (this.entries.size > 0) await this.flush();
    this.closed = true;
    const w = this.worker;
    if (w !== undefined) {
      w.ref();
      w.postMessage({ op: 'exit' } satisfies ToExposureThread);
      setTimeout(() => void w.terminate(), 10_000).unref();
    }
    await this.exited;
  }

  /** Posts waiting batches, in order, while the in-flight bound allows (one always goes when none is in flight). */
  private pump(): void {
    for (const [seq, e] of this.entries) {
      if (e.posted) continue;
      if (this.inFlightBytes > 0 && this.inFlightBytes + e.bytes > this.maxInFlightBytes) return;
      const w = this.writer();
      if (this.inFlightBytes === 0) w.ref();
      e.posted = true;
      e.attempts++;
      this.waitingBytes -= e.bytes;
      this.inFlightBytes += e.bytes;
      // the string and the small meta buffer are copied: the entry keeps them to post again after a crash
      w.postMessage({ op: 'expose', seq, batch: e.batch } satisfies ToExposureThread);
    }
  }

  /** The running writer, started if there is none. */
  private writer(): Worker {
    if (this.worker !== undefined) return this.worker;
    const { worker: w, exited } = startThread<FromExposureThread>(import.meta.url, './exposure-thread.js', { path: this.path } satisfies ExposureThreadInit, {
      message: (m) => this.onAnswer(m),
      exit: (code) => this.onExit(w, code),
      error: (e) => this.opts.logger?.error({ err: e.message }, 'experiments exposure writer failed'),
    });
    this.worker = w;
    this.starts++;
    this.exited = exited;
    return w;
  }

  private onAnswer(m: FromExposureThread): void {
    const e = this.entries.get(m.seq);
    if (e === undefined) return;
    this.entries.delete(m.seq);
    this.inFlightBytes -= e.bytes;
    if (m.error !== undefined) this.lose(e.batch, `exposure write failed: ${m.error}`);
    e.settle();
    if (this.inFlightBytes === 0) this.worker?.unref();
    this.pump();
  }

  /** The writer ended: its unanswered batches are posted again to a new writer (once), or lost. */
  private onExit(w: Worker, code: number): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    this.inFlightBytes = 0;
    let again = 0;
    for (const [seq, e] of this.entries) {
      if (!e.posted) continue;
      e.posted = false;
      if (e.attempts >= ATTEMPTS) {
        this.entries.delete(seq);
        this.lose(e.batch, 'exposure writer died twice with this batch');
        e.settle();
      } else {
        this.waitingBytes += e.bytes;
        again += batchSize(e.batch);
      }
    }
    if (this.closed && code === 0) return;
    this.opts.logger?.error({ code, exposures: again }, 'experiments exposure writer exited; a new one takes its unanswered batches');
    this.pump();
  }

  private lose(batch: ExposureBatch, why: string): void {
    const n = batchSize(batch);
    this.lost += n;
    this.opts.logger?.error({ experiment: batch.experiment, exposures: n, lost: this.lost }, `${why}; exposures lost`);
  }
}
