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

/** Jobs a worker holds at once: the next one is already there when it finishes one. */
const IN_FLIGHT = 2;

/**
 * Analyzes every numeric column: on the calling thread and, when there is a pool, on its workers
 * too, each taking the next column from one queue. Sample buffers travel to the workers and back
 * without copies.
 */
export async function analyzeAll(jobs: NumericJob[], pool?: NumericPool): Promise<NumericOutcome[]> {
  if (!pool || !jobs.every((j) => owns(j.ref) && owns(j.cur))) return jobs.map(analyzeNumeric);
  const out: NumericOutcome[] = new Array(jobs.length);
  const queue = jobs.map((_, i) => i);
  const remote = pool.workers.map(
    (worker) =>
      new Promise<void>((resolve, reject) => {
        let held = 0;
        const fill = (): void => {
          while (held < IN_FLIGHT) {
            const id = queue.shift();
            if (id === undefined) break;
            const job = jobs[id] as NumericJob;
            worker.postMessage({ id, job }, [job.ref.buffer as ArrayBuffer, job.cur.buffer as ArrayBuffer]);
            held++;
          }
          if (held === 0) {
            worker.off('message', onMessage);
            worker.off('error', reject);
            resolve();
          }
        };
        const onMessage = (msg: { id: number; outcome?: NumericOutcome; error?: string }): void => {
          if (msg.outcome === undefined) {
            reject(new Error(msg.error ?? 'drift worker failed'));
            return;
          }
          out[msg.id] = msg.outcome;
          held--;
          fill();
        };
        worker.on('message', onMessage);
        worker.on('error', reject);
        fill();
      }),
  );
  const local = (async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      out[id] = analyzeNumeric(jobs[id] as NumericJob);
      // let the workers' answers in, so that they get their next columns
      await new Promise((r) => setImmediate(r));
    }
  })();
  await Promise.all([...remote, local]);
  return out;
}
