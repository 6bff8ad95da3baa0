import { describe, expect, it } from 'vitest';
import { CallRing, judge, parseDurationField, parseSteps, SloWatch, sameArgmax, TrafficPolicies, tensorsClose, validateInput } from '../../src/deploy/index.js';
import type { Tensor } from '../../src/protocol/index.js';

const slo = { p95_ms: 100, error_rate: 0.01, min_requests: 10 };
const win = (requests: number, errors: number, p95: number | null, p50 = p95) => ({
  version: 2,
  requests,
  errors,
  error_rate: requests ? errors / requests : null,
  p50_ms: p50,
  p95_ms: p95,
});

describe('the SLO guard', () => {
  it('waits for the minimum request count', () => {
    expect(judge(win(9, 9, 500), undefined, slo)).toMatchObject({ verdict: 'wait' });
  });

  it('fails a candidate over the SLO even when the stable version is as slow', () => {
    expect(judge(win(20, 0, 150), win(20, 0, 140), slo)).toMatchObject({ verdict: 'breach', reason: expect.stringMatching(/exceeds the SLO of 100 ms/) });
  });

  it('fails a candidate much slower than the stable version, within the SLO', () => {
    expect(judge(win(20, 0, 90), win(20, 0, 10), slo)).toMatchObject({ verdict: 'breach', reason: expect.stringMatching(/2 x the stable/) });
    // jitter is not a breach: the limit is at least stable + 10 ms, and a handful of calls is not compared
    expect(judge(win(20, 0, 10), win(20, 0, 1), { ...slo, p95_ms: null })).toEqual({ verdict: 'pass' });
    expect(judge(win(12, 0, 90), win(200, 0, 10), slo)).toEqual({ verdict: 'pass' });
    // a slow tail with a normal median is noise, not a slower model
    expect(judge(win(50, 0, 90, 3), win(200, 0, 10, 3), slo)).toEqual({ verdict: 'pass' });
  });

  it('fails on error rate over the SLO and passes a healthy candidate', () => {
    expect(judge(win(100, 2, 5), win(100, 0, 5), slo)).toMatchObject({ verdict: 'breach', reason: expect.stringMatching(/^error rate 2%/) });
    expect(judge(win(100, 1, 5), win(100, 0, 5), slo)).toEqual({ verdict: 'pass' });
  });

  it('keeps per-version windows: count, errors and p95 of the calls since a time', () => {
    const ring = new CallRing();
    for (let i = 1; i <= 100; i++) ring.push(1000 + i, i, i % 10 === 0);
    const all = ring.stats(2, 0);
    expect(all).toMatchObject({ requests: 100, errors: 10, error_rate: 0.1 });
    expect(all.p95_ms).toBe(95); // 90 successful latencies 1..99 without multiples of 10: the 86th is 95
    expect(ring.stats(2, 1091)).toMatchObject({ requests: 10, errors: 1 });
  });

  it('records a version while any rollout or guard still tracks it', () => {
    const watch = new SloWatch();
    const call = (version: number, time: number) =>
      watch.observe({ model: 'm', version, requestId: undefined, status: 200, seconds: 0.001, time, request: undefined, outputs: undefined, route: undefined, error: undefined });
    watch.track('m', [1, 2]); // a blue-green rollout whose guard outlives it
    watch.track('m', [2, 3]); // the next rollout, started during the grace period
    watch.untrack('m', [1, 2]);
    for (const v of [1, 2, 3]) call(v, 10);
    expect([1, 2, 3].map((v) => watch.stats('m', v, 0).requests)).toEqual([0, 1, 1]);
    watch.untrack('m', [2, 3]);
    call(2, 11);
    expect(watch.stats('m', 2, 0).requests).toBe(0);
  });
});

describe('traffic policies', () => {
  it('sends about the weight to the candidate, pins the stable version otherwise, and leaves other models alone', () => {
    const p = new TrafficPolicies();
    p.set('m', 7, 1, 2, 25);
    let candidate = 0;
    for (let i = 0; i < 20_000; i++) if (p.route({ model: 'm' })?.version === 2) candidate++;
    expect(candidate / 20_000).toBeGreaterThan(0.23);
    expect(candidate / 20_000).toBeLessThan(0.27);
    expect(p.route({ model: 'other' })).toBeUndefined();
    p.clear('m', 8); // not the owner: nothing happens
    expect(p.route({ model: 'm' })).toBeDefined();
    p.set('m', 7, 1, 2, 0);
    expect(p.route({ model: 'm' })?.version).toBe(1);
    p.clear('m', 7);
    expect(p.route({ model: 'm' })).toBeUndefined();
  });
});

describe('shadow comparison', () => {
  const t = (data: number[], shape = [2, 2]): Tensor => ({ name: 'y', datatype: 'FP32', shape, data: Float32Array.from(data) });
  it('compares outputs within tolerance and by argmax per row', () => {
    expect(tensorsClose(t([1, 2, 3, 4]), t([1, 2.000001, 3, 4]))).toBe(true);
    expect(tensorsClose(t([1, 2, 3, 4]), t([1, 2.1, 3, 4]))).toBe(false);
    expect(sameArgmax(t([0.1, 0.9, 0.8, 0.2]), t([0.3, 0.7, 0.6, 0.4]))).toBe(true);
    expect(sameArgmax(t([0.1, 0.9, 0.8, 0.2]), t([0.3, 0.7, 0.4, 0.6]))).toBe(false);
    expect(sameArgmax(t([1, 2], [2]), t([1, 2], [2]))).toBeUndefined();
  });
});

describe('deployment input', () => {
  it('parses durations and steps, and defaults what is not given', () => {
    expect(parseDurationField('300ms', 'x')).toBe(300);
    expect(parseDurationField('30s', 'x')).toBe(30_000);
    expect(parseDurationField('2m', 'x')).toBe(120_000);
    expect(parseDurationField(1.5, 'x')).toBe(1500);
    expect(() => parseDurationField('soon', 'step_interval')).toThrow(/step_interval must be a duration/);
    expect(parseSteps('5,25,50,100')).toEqual([5, 25, 50, 100]);
    expect(() => parseSteps('50,25,100')).toThrow(/increase/);
    expect(() => parseSteps('10,50')).toThrow(/last step must be 100/);
    expect(validateInput({ model: 'm', version: '2', strategy: 'canary' })).toMatchObject({
      version: 2,
      steps: [5, 25, 50, 100],
      step_interval_ms: 30_000,
      slo: { p95_ms: null, error_rate: 0.01, min_requests: 20 },
      grace_ms: 300_000,
      warmup_requests: 5,
    });
    expect(() => validateInput({ model: 'm', version: 2, strategy: 'canary', webhooks: ['ftp://x'] })).toThrow(/webhooks/);
  });
});
