import type { Tensor } from '../protocol/index.js';
import type { LoadedModel } from '../runtime/index.js';
import type { ShadowStats } from './types.js';
import { CallRing } from './window.js';

/** Copies waiting for the shadow at most; more are dropped (and counted) rather than queued. */
const QUEUE_LIMIT = 64;
/** Copies run on the shadow at once. */
const CONCURRENCY = 2;
const ATOL = 1e-5;
const RTOL = 1e-3;

interface Copy {
  inputs: Tensor[];
  outputNames: string[] | undefined;
  expected: Tensor[];
}

/** True when two tensors have the same shape and elements equal within tolerance. */
export function tensorsClose(a: Tensor, b: Tensor): boolean {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  const x = a.data;
  const y = b.data;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const u = x[i];
    const v = y[i];
    if (typeof u === 'number' && typeof v === 'number') {
      if (!(Math.abs(u - v) <= ATOL + RTOL * Math.abs(v)) && !(Number.isNaN(u) && Number.isNaN(v))) return false;
    } else if (u !== v) return false;
  }
  return true;
}

/** Same argmax in every row (last axis), or undefined when the tensor is not a score matrix. */
export function sameArgmax(a: Tensor, b: Tensor): boolean | undefined {
  const cols = a.shape[a.shape.length - 1] ?? 0;
  if (a.shape.length < 2 || cols < 2 || a.data.length !== b.data.length || typeof a.data[0] !== 'number') return undefined;
  const x = a.data as ArrayLike<number>;
  const y = b.data as ArrayLike<number>;
  for (let row = 0; row < x.length; row += cols) {
    let ax = row;
    let ay = row;
    for (let i = row + 1; i < row + cols; i++) {
      if ((x[i] as number) > (x[ax] as number)) ax = i;
      if ((y[i] as number) > (y[ay] as number)) ay = i;
    }
    if (ax !== ay) return false;
  }
  return true;
}

/**
 * Runs copies of live calls on the candidate, off the hot path: `offer` only queues (bounded), the
 * copies run later and their answers are compared with the stable version's, then discarded.
 */
export class ShadowCopier {
  private readonly queue: Copy[] = [];
  private running = 0;
  private stopped = false;
  private compared = 0;
  private agreed = 0;
  private argmaxCompared = 0;
  private argmaxAgreed = 0;
  private errors = 0;
  private dropped = 0;
  private readonly stableRing = new CallRing();
  private readonly shadowRing = new CallRing();
  private readonly since = Date.now();
  private idle: (() => void) | undefined;

  constructor(private readonly candidate: LoadedModel) {}

  /** Queues a copy of a call the stable version answered (cheap; drops when the shadow is behind). */
  offer(inputs: Tensor[], outputNames: string[] | undefined, expected: Tensor[], stableMs: number): void {
    if (this.stopped) return;
    this.stableRing.push(Date.now(), stableMs, false);
    if (this.queue.length >= QUEUE_LIMIT) {
      this.dropped++;
      return;
    }
    this.queue.push({ inputs, outputNames, expected });
    if (this.running < CONCURRENCY) setImmediate(() => this.drain());
  }

  private async drain(): Promise<void> {
    if (this.running >= CONCURRENCY) return;
    this.running++;
    try {
      for (let copy = this.queue.shift(); copy !== undefined && !this.stopped; copy = this.queue.shift()) {
        const started = performance.now();
        try {
          const outputs = await this.candidate.run(copy.inputs, copy.outputNames);
          this.shadowRing.push(Date.now(), performance.now() - started, false);
          this.compare(copy.expected, outputs);
        } catch {
          this.errors++;
        }
      }
    } finally {
      this.running--;
      if (this.running === 0 && this.queue.length === 0) this.idle?.();
    }
  }

  private compare(expected: Tensor[], got: Tensor[]): void {
    this.compared++;
    let all = true;
    let argmax: boolean | undefined;
    for (const e of expected) {
      const g = got.find((t) => t.name === e.name);
      if (g === undefined || !tensorsClose(g, e)) all = false;
      const same = g === undefined ? false : sameArgmax(g, e);
      if (same !== undefined) argmax = (argmax ?? true) && same;
    }
    if (all) this.agreed++;
    if (argmax !== undefined) {
      this.argmaxCompared++;
      if (argmax) this.argmaxAgreed++;
    }
  }

  /** Agreement and latency so far. */
  stats(): ShadowStats {
    return {
      compared: this.compared,
      agreed: this.agreed,
      agreement_rate: this.compared > 0 ? this.agreed / this.compared : null,
      argmax_agreement_rate: this.argmaxCompared > 0 ? this.argmaxAgreed / this.argmaxCompared : null,
      errors: this.errors,
      dropped: this.dropped,
      stable_p95_ms: this.stableRing.stats(0, this.since).p95_ms,
      shadow_p95_ms: this.shadowRing.stats(0, this.since).p95_ms,
    };
  }

  /** Resolves once the queued copies have run (tests and reports). */
  settled(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = resolve;
    });
  }

  /** Drops the queue and stops taking copies. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }
}
