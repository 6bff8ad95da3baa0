import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/protocol/types.js';
import { CachingModel, cacheKey, type LoadedModel, OnnxRuntime } from '../../src/runtime/index.js';
import { failingModel, identityModel } from '../fixtures/models.js';

const runtime = new OnnxRuntime();
const f32 = (values: number[]): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1, values.length], data: Float32Array.from(values) });
const KEY_BYTES = 44; // base64 of a SHA-256 digest

/** Counts the runs that reach the wrapped (real) model. */
function counting(inner: LoadedModel): { model: LoadedModel; runs: { n: number } } {
  const runs = { n: 0 };
  return {
    runs,
    model: {
      signature: inner.signature,
      run: (inputs, outputs) => {
        runs.n++;
        return inner.run(inputs, outputs);
      },
      dispose: async () => {},
    },
  };
}

function caching(inner: LoadedModel, maxBytes = 1 << 20, versionKey = 'm:1') {
  const { model, runs } = counting(inner);
  const stats = { hits: 0, misses: 0 };
  const cache = new CachingModel(model, {
    maxBytes,
    versionKey,
    onHit: () => stats.hits++,
    onMiss: () => stats.misses++,
  });
  return { cache, runs, stats };
}

describe('CachingModel', () => {
  let identity: LoadedModel;
  let strings: LoadedModel;
  let failing: LoadedModel;
  beforeAll(async () => {
    identity = await runtime.load(identityModel('float32', ['batch', 'n']));
    strings = await runtime.load(identityModel('string', ['batch']));
    failing = await runtime.load(failingModel());
  });
  afterAll(async () => {
    await Promise.all([identity.dispose(), strings.dispose(), failing.dispose()]);
  });

  it('answers a repeated request from the cache and counts hits and misses', async () => {
    const { cache, runs, stats } = caching(identity);
    const first = await cache.run([f32([1, 2, 3])]);
    const second = await cache.run([f32([1, 2, 3])]);
    const other = await cache.run([f32([1, 2, 4])]);
    expect(Array.from(first[0]!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(second[0]!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(other[0]!.data as Float32Array)).toEqual([1, 2, 4]);
    expect(runs.n).toBe(2);
    expect(stats).toEqual({ hits: 1, misses: 2 });
    expect(cache.size).toBe(2);
    expect(cache.bytes).toBe(2 * (KEY_BYTES + 12));
  });

  it('keys on shape and requested outputs, not just the bytes', async () => {
    const { cache, runs } = caching(identity);
    const flat = f32([1, 2, 3, 4]);
    const square: Tensor = { ...f32([1, 2, 3, 4]), shape: [2, 2] };
    expect((await cache.run([flat]))[0]!.shape).toEqual([1, 4]);
    expect((await cache.run([square]))[0]!.shape).toEqual([2, 2]);
    await cache.run([flat], ['y']);
    expect(runs.n).toBe(3);
  });

  it('evicts the least recently used results once the byte budget is exceeded', async () => {
    const entry = KEY_BYTES + 12; // a [1, 3] FP32 result
    const { cache, runs } = caching(identity, 3 * entry);
    for (const v of [1, 2, 3]) await cache.run([f32([v, v, v])]);
    await cache.run([f32([1, 1, 1])]); // touch 1: now 2 is the least recently used
    await cache.run([f32([4, 4, 4])]); // evicts 2
    expect(cache.size).toBe(3);
    expect(runs.n).toBe(4);
    await cache.run([f32([1, 1, 1])]);
    await cache.run([f32([3, 3, 3])]);
    await cache.run([f32([4, 4, 4])]);
    expect(runs.n).toBe(4); // 1, 3 and 4 were kept
    await cache.run([f32([2, 2, 2])]);
    expect(runs.n).toBe(5); // 2 was evicted

    // One wide result (30 floats) needs the room of several small ones: it evicts the oldest until it fits.
    await cache.run([f32(Array.from({ length: 30 }, (_, i) => i))]);
    expect(cache.bytes).toBeLessThanOrEqual(3 * entry);
    expect(cache.size).toBe(1);
  });

  it('does not cache a result larger than the whole budget', async () => {
    const { cache, runs } = caching(identity, KEY_BYTES + 12);
    await cache.run([f32([1, 2, 3])]);
    await cache.run([f32([1, 2, 3, 4])]);
    await cache.run([f32([1, 2, 3, 4])]);
    expect(runs.n).toBe(3);
    expect(cache.size).toBe(1);
    await cache.run([f32([1, 2, 3])]);
    expect(runs.n).toBe(3);
  });

  it('never serves a result across versions', async () => {
    const input = [f32([5, 6, 7])];
    expect(cacheKey('weather:1', input)).not.toBe(cacheKey('weather:2', input));
    expect(cacheKey('weather:1', input)).toBe(cacheKey('weather:1', [f32([5, 6, 7])]));
    const v1 = caching(identity, 1 << 20, 'weather:1');
    const v2 = caching(identity, 1 << 20, 'weather:2');
    await v1.cache.run(input);
    await v2.cache.run(input);
    expect(v2.stats).toEqual({ hits: 0, misses: 1 });
  });

  it('tells string tensors apart that concatenate to the same bytes', async () => {
    const bytes = (data: string[]): Tensor => ({ name: 'x', datatype: 'BYTES', shape: [data.length], data });
    expect(cacheKey('v', [bytes(['ab', 'c'])])).not.toBe(cacheKey('v', [bytes(['a', 'bc'])]));
    const { cache, runs } = caching(strings);
    expect((await cache.run([bytes(['ab', 'c'])]))[0]!.data).toEqual(['ab', 'c']);
    expect((await cache.run([bytes(['a', 'bc'])]))[0]!.data).toEqual(['a', 'bc']);
    expect(runs.n).toBe(2);
  });

  it('keeps cached results immune to callers mutating theirs', async () => {
    const { cache } = caching(identity);
    const first = await cache.run([f32([1, 2, 3])]);
    (first[0]!.data as Float32Array)[0] = 99;
    first[0]!.shape[0] = 7;
    const second = await cache.run([f32([1, 2, 3])]);
    expect(Array.from(second[0]!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(second[0]!.shape).toEqual([1, 3]);
    (second[0]!.data as Float32Array)[1] = 99;
    const third = await cache.run([f32([1, 2, 3])]);
    expect(Array.from(third[0]!.data as Float32Array)).toEqual([1, 2, 3]);
  });

  it('lets identical concurrent misses share one run', async () => {
    const { cache, runs, stats } = caching(identity);
    const results = await Promise.all(Array.from({ length: 5 }, () => cache.run([f32([8, 9, 10])])));
    expect(runs.n).toBe(1);
    expect(stats).toEqual({ hits: 4, misses: 1 });
    (results[0]![0]!.data as Float32Array)[0] = 0;
    for (const r of results.slice(1)) expect(Array.from(r[0]!.data as Float32Array)).toEqual([8, 9, 10]);
  });

  it('does not cache failures', async () => {
    const { cache, runs, stats } = caching(failing);
    const bad: Tensor = { name: 'index', datatype: 'INT64', shape: [1], data: BigInt64Array.from([10n]) };
    await expect(cache.run([bad])).rejects.toThrow(/out of/);
    await expect(cache.run([bad])).rejects.toThrow(/out of/);
    expect(runs.n).toBe(2);
    expect(stats.misses).toBe(2);
    expect(cache.size).toBe(0);
    const good: Tensor = { ...bad, data: BigInt64Array.from([3n]) };
    expect(Array.from((await cache.run([good]))[0]!.data as Float32Array)).toEqual([30]);
  });
});
