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

/**
 * Analyzes every numeric column. Large batches run on worker threads, one per core (up to 4), when the
 * compiled worker exists (under dist/; from TypeScript sources, as in tests, everything runs here).
 * Sample buffers travel to the workers and back without copies.
 */
export async function analyzeAll(jobs: NumericJob[]): Promise<NumericOutcome[]> {
  const total = jobs.reduce((s, j) => s + j.ref.length + j.cur.length, 0);
  const threads = Math.min(availableParallelism(), 4, jobs.length);
  const parallel =
    total >= PARALLEL_MIN_VALUES && threads >= 2 && jobs.every((j) => owns(j.ref) && owns(j.cur)) && existsSync(fileURLToPath(WORKER));
  if (!parallel) return jobs.map(analyzeNumeric);
  const out: NumericOutcome[] = new Array(jobs.length);
  const queue = jobs.map((_, i) => i);
  const workers = Array.from({ length: threads }, () => new Worker(WORKER));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const next = (): void => {
              const id = queue.shift();
              if (id === undefined) {
                resolve();
                return;
              }
              const job = jobs[id] as NumericJob;
              worker.postMessage({ id, job }, [job.ref.buffer as ArrayBuffer, job.cur.buffer as ArrayBuffer]);
            };
            worker.on('message', (msg: { id: number; outcome?: NumericOutcome; error?: string }) => {
              if (msg.outcome === undefined) {
                reject(new Error(msg.error ?? 'drift worker failed'));
                return;
              }
              out[msg.id] = msg.outcome;
              next();
            });
            worker.on('error', reject);
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return out;
}
