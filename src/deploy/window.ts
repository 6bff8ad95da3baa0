import type { InferenceEvent, InferenceObserver } from '../serving/index.js';
import type { Slo, WindowStats } from './types.js';

/** Calls kept per version; a window longer than this many calls is judged on the newest ones. */
const CAPACITY = 16_384;

/** A ring of the newest calls of one version: finish time, latency, and whether it failed (5xx). */
export class CallRing {
  private readonly times = new Float64Array(CAPACITY);
  private readonly ms = new Float64Array(CAPACITY);
  private readonly failed = new Uint8Array(CAPACITY);
  private next = 0;
  private size = 0;
  private static scratch = new Float64Array(CAPACITY);

  /** Records one call. */
  push(time: number, ms: number, failed: boolean): void {
    this.times[this.next] = time;
    this.ms[this.next] = ms;
    this.failed[this.next] = failed ? 1 : 0;
    this.next = (this.next + 1) % CAPACITY;
    if (this.size < CAPACITY) this.size++;
  }

  /** Requests, errors, error rate and p95 of the calls that finished at or after `since` (ms epoch). */
  stats(version: number, since: number): WindowStats {
    const lat = CallRing.scratch;
    let ok = 0;
    let errors = 0;
    for (let k = 1; k <= this.size; k++) {
      const i = (this.next - k + CAPACITY) % CAPACITY;
      if ((this.times[i] as number) < since) break;
      if (this.failed[i]) errors++;
      else lat[ok++] = this.ms[i] as number;
    }
    const n = ok + errors;
    let p50: number | null = null;
    let p95: number | null = null;
    if (ok > 0) {
      const sorted = lat.subarray(0, ok).sort();
      p50 = sorted[Math.max(0, Math.ceil(0.5 * ok) - 1)] as number;
      p95 = sorted[Math.max(0, Math.ceil(0.95 * ok) - 1)] as number;
    }
    return { version, requests: n, errors, error_rate: n > 0 ? errors / n : null, p50_ms: p50, p95_ms: p95 };
  }
}

/**
 * Per-version windows of latency and errors, fed by the inference observer. Only versions that a
 * rollout tracks are recorded, so every other call costs one Map lookup. Tracking is counted per
 * version: a rollout that ends stops recording only what no other rollout (or guard) still watches.
 */
export class SloWatch implements InferenceObserver {
  private readonly tracked = new Map<string, Map<number, CallRing>>();
  private readonly holders = new Map<string, number>();

  /** Starts recording the versions of a model (keeps rings already there). */
  track(model: string, versions: number[]): void {
    let m = this.tracked.get(model);
    if (m === undefined) {
      m = new Map();
      this.tracked.set(model, m);
    }
    for (const v of versions) {
      const key = `${model}\u0000${v}`;
      this.holders.set(key, (this.holders.get(key) ?? 0) + 1);
      if (!m.has(v)) m.set(v, new CallRing());
    }
  }

  /** Stops recording versions of a model that `track` started, once nothing else tracks them. */
  untrack(model: string, versions: number[]): void {
    const m = this.tracked.get(model);
    for (const v of versions) {
      const key = `${model}\u0000${v}`;
      const n = (this.holders.get(key) ?? 0) - 1;
      if (n > 0) {
        this.holders.set(key, n);
        continue;
      }
      this.holders.delete(key);
      m?.delete(v);
    }
    if (m !== undefined && m.size === 0) this.tracked.delete(model);
  }

  observe(e: InferenceEvent): void {
    if (e.version === undefined) return;
    const ring = this.tracked.get(e.model)?.get(e.version);
    // client errors (bad shapes, unknown inputs) say nothing about the version's health
    if (ring !== undefined && (e.status < 400 || e.status >= 500)) ring.push(e.time, e.seconds * 1000, e.status >= 500);
  }

  /** A version's window since `since`; empty when it is not tracked. */
  stats(model: string, version: number, since: number): WindowStats {
    const ring = this.tracked.get(model)?.get(version);
    return ring ? ring.stats(version, since) : { version, requests: 0, errors: 0, error_rate: null, p50_ms: null, p95_ms: null };
  }
}

/** How much slower than the stable version a candidate may be: k × stable p95, but at least stable + slack (sub-ms models jitter). */
export const LATENCY_FACTOR = 2;
export const LATENCY_SLACK_MS = 10;
/** Fewest calls in both windows before their p95s are compared (the p95 of a handful of calls is their maximum). */
export const RELATIVE_MIN_CALLS = 20;

export type Verdict = { verdict: 'pass' } | { verdict: 'wait'; reason: string } | { verdict: 'breach'; reason: string };

const round = (x: number) => Math.round(x * 100) / 100;

/**
 * Holds a candidate's window against the SLO and against the stable version; failing either is a
 * breach. Fewer calls than `min_requests`: wait. Errors: the rate above the SLO's, or above the
 * stable version's rate plus the SLO's. Latency: p95 above the SLO's, or above
 * max(k × stable p95, stable p95 + slack) with the median above the stable p95 too. The stable
 * window is the same span of time; its terms apply once it has `min_requests` calls (the latency
 * one once both windows have RELATIVE_MIN_CALLS). A candidate that slows the whole machine also slows the stable version, which is why the
 * SLO is a ceiling of its own and not merely a floor under the relative limit.
 */
export function judge(candidate: WindowStats, stable: WindowStats | undefined, slo: Slo): Verdict {
  if (candidate.requests < slo.min_requests) {
    return { verdict: 'wait', reason: `${candidate.requests} of ${slo.min_requests} candidate calls in this window` };
  }
  const stableOk = stable !== undefined && stable.requests >= slo.min_requests;
  const rate = candidate.error_rate ?? 0;
  const relativeErrors = stableOk ? (stable.error_rate ?? 0) + slo.error_rate : Number.POSITIVE_INFINITY;
  if (rate > slo.error_rate || rate > relativeErrors) {
    const limit = Math.min(slo.error_rate, relativeErrors);
    return { verdict: 'breach', reason: `error rate ${round(rate * 100)}% over ${candidate.requests} calls exceeds ${round(limit * 100)}%` };
  }
  const p95 = candidate.p95_ms;
  if (p95 === null) return { verdict: 'pass' };
  if (slo.p95_ms !== null && p95 > slo.p95_ms) {
    return { verdict: 'breach', reason: `p95 latency ${round(p95)} ms exceeds the SLO of ${round(slo.p95_ms)} ms` };
  }
  const comparable = stableOk && Math.min(candidate.requests, stable.requests) >= RELATIVE_MIN_CALLS;
  const stableP95 = comparable ? stable.p95_ms : null;
  if (stableP95 !== null) {
    const limit = Math.max(LATENCY_FACTOR * stableP95, stableP95 + LATENCY_SLACK_MS);
    // a slow tail alone is noise (GC, a busy neighbour); a slower model moves the median as well
    if (p95 > limit && (candidate.p50_ms ?? 0) > stableP95) {
      return { verdict: 'breach', reason: `p95 latency ${round(p95)} ms exceeds ${round(limit)} ms (${LATENCY_FACTOR} x the stable version's ${round(stableP95)} ms)` };
    }
  }
  return { verdict: 'pass' };
}
