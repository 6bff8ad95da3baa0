import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { sortFloat64 } from '../../stats/drift/index.js';
import { MAX_CATEGORICAL_DISTINCT, numericalStatistic } from './methods.js';
import type { ConcreteMethod } from './types.js';

/** One numeric column of both datasets, and the numerical method to run on it (null: categorical anyway). */
export interface NumericJob {
  ref: Float64Array;
  cur: Float64Array;
  method: ConcreteMethod | null;
}

/** The sorted samples, how many distinct values they hold (counted up to 6), and the statistic when it applies. */
export interface NumericOutcome {
  ref: Float64Array;
  cur: Float64Array;
  distinct: number;
  result: { statistic: number; pValue: number | null } | null;
}

/** Below this many values in all, one thread beats starting workers. */
export const PARALLEL_MIN_VALUES = 2_000_000;

const WORKER = new URL('./numeric-worker.js', import.meta.url);

/** Distinct values across two sorted samples, counted up to `limit + 1`. */
function distinctAtMost(a: Float64Array, b: Float64Array, limit: number): number {
  const seen = new Set<number>();
  for (const s of [a, b]) {
    for (let i = 0; i < s.length; i++) {
      if (i > 0 && s[i] === s[i - 1]) continue;
      seen.add(s[i] as number);
      if (seen.size > limit) return seen.size;
    }
  }
  return seen.size;
}

/** Sorts both samples, detects few-valued columns, and runs the method on the rest. */
export function analyzeNumeric(job: NumericJob): NumericOutcome {
  const ref = sortFloat64(job.ref);
  const cur = sortFloat64(job.cur);
  const distinct = distinctAtMost(ref, cur, MAX_CATEGORICAL_DISTINCT);
  const applies = job.method !== null && distinct > MAX_CATEGORICAL_DISTINCT && ref.length > 0 && cur.length > 0;
  return { ref, cur, distinct, result: applies ? numericalStatistic(job.method as ConcreteMethod, ref, cur) : null };
}

const owns = (a: Float64Array): boolean => a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer;

/** Worker threads for `analyzeAll`, started early so that they boot while the data is still being read. */
export class NumericPool {
  private constructor(readonly workers: Worker[]) {}

  /**
   * Starts one worker per core but one (the calling thread takes a share too), up to 3 and up to
   * `columns - 1`, when `values` (all numeric values of both datasets) make threads worth it and the
   * compiled worker exists (under dist/; from TypeScript sources, as in tests, everything runs on the
   * calling thread); otherwise undefined.
   */
  static start(values: number, columns: number): NumericPool | undefined {
    const workers = Math.min(availableParallelism(), 4, columns) - 1;
    if (values < PARALLEL_MIN_VALUES || workers < 1 || !existsSync(fileURLToPath(WORKER))) return undefined;
    return new NumericPool(Array.from({ length: workers }, () => new Worker(WORKER)));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Numeric columns per read: small groups let the workers start sorting early, each read costs a scan. */
const READ_GROUP = 4;

/**
 * The numeric columns in the groups they are read in (one empty group when there are none). Only
 * `columnar` files (Parquet) are read in groups: a group costs nothing but its own columns there,
 * whereas every pass over a CSV file parses all of it.
 */
export function readGroups(numeric: string[], columnar: boolean): string[][] {
  const groups: string[][] = [];
  const size = columnar ? READ_GROUP : numeric.length;
  for (let i = 0; i < numeric.length; i += size) groups.push(numeric.slice(i, i + size));
  return groups.length > 0 ? groups : [[]];
}

/** Jobs a worker holds at once while the calling thread is busy reading: the next one is already there. */
const IN_FLIGHT_READING = 2;
/** Once the calling thread takes jobs too, one each: a job left waiting in a busy worker idles the other thread. */
const IN_FLIGHT_DRAINING = 1;

type WorkerReply = { id: number; outcome?: NumericOutcome; error?: string };

/**
 * Analyzes numeric columns as they arrive: `submit` hands each to the pool's workers at once (its
 * buffers travel without copies), so that they sort the first columns while the calling thread is
 * still reading the next ones; `finish` makes the calling thread take jobs from the same queue until
 * all are done. Without a pool (or with buffers that cannot be transferred) `finish` runs them all here.
 */
export class NumericAnalyzer {
  private readonly jobs: NumericJob[] = [];
  private readonly out: (NumericOutcome | undefined)[] = [];
  /** Jobs any thread may take, and jobs only the calling thread may (their buffers are views). */
  private readonly queue: number[] = [];
  private readonly localQueue: number[] = [];
  private readonly held: number[];
  private readonly listeners: { worker: Worker; message: (m: WorkerReply) => void; error: (e: Error) => void; exit: () => void }[];
  private inFlight = IN_FLIGHT_READING;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly pool?: NumericPool) {
    const workers = pool?.workers ?? [];
    this.held = workers.map(() => 0);
    this.listeners = workers.map((worker, w) => {
      const message = (m: WorkerReply): void => this.received(w, m);
      const error = (e: Error): void => this.fail(e);
      const exit = (): void => this.fail(new Error('a drift worker thread exited'));
      worker.on('message', message);
      worker.on('error', error);
      worker.on('exit', exit);
      return { worker, message, error, exit };
    });
  }

  /** Queues one column; returns its index in `finish`'s result. */
  submit(job: NumericJob): number {
    const id = this.jobs.length;
    this.jobs.push(job);
    if (this.held.length > 0 && owns(job.ref) && owns(job.cur) && job.ref.buffer !== job.cur.buffer) this.queue.push(id);
    else this.localQueue.push(id);
    this.dispatch();
    return id;
  }

  /** Works the queue on the calling thread too; resolves with every outcome, in submission order. */
  async finish(): Promise<NumericOutcome[]> {
    this.inFlight = IN_FLIGHT_DRAINING;
    try {
      for (;;) {
        if (this.failure) throw this.failure;
        const id = this.localQueue.shift() ?? this.queue.shift();
        if (id !== undefined) {
          this.out[id] = analyzeNumeric(this.jobs[id] as NumericJob);
          // let the workers' answers in, so that they get their next columns
          await new Promise((r) => setImmediate(r));
          continue;
        }
        if (this.held.every((h) => h === 0)) break;
        await new Promise<void>((r) => {
          this.wake = r;
        });
      }
    } finally {
      for (const l of this.listeners) {
        l.worker.off('message', l.message);
        l.worker.off('error', l.error);
        l.worker.off('exit', l.exit);
      }
    }
    return this.out as NumericOutcome[];
  }

  private dispatch(): void {
    const workers = this.pool?.workers ?? [];
    for (let w = 0; w < workers.length; w++) {
      while ((this.held[w] as number) < this.inFlight && this.failure === undefined) {
        const id = this.queue.shift();
        if (id === undefined) return;
        const job = this.jobs[id] as NumericJob;
        (workers[w] as Worker).postMessage({ id, job }, [job.ref.buffer as ArrayBuffer, job.cur.buffer as ArrayBuffer]);
        this.held[w] = (this.held[w] as number) + 1;
      }
    }
  }

  private received(w: number, m: WorkerReply): void {
    if (m.outcome === undefined) {
      this.fail(new Error(m.error ?? 'drift worker failed'));
      return;
    }
    this.out[m.id] = m.outcome;
    this.held[w] = (this.held[w] as number) - 1;
    this.dispatch();
    this.notify();
  }

  private fail(e: Error): void {
    this.failure ??= e;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** Analyzes every numeric column, on the calling thread and the pool's workers (see NumericAnalyzer). */
export async function analyzeAll(jobs: NumericJob[], pool?: NumericPool): Promise<NumericOutcome[]> {
  const analyzer = new NumericAnalyzer(pool);
  for (const job of jobs) analyzer.submit(job);
  return analyzer.finish();
}
