import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/protocol/types.js';
import { BatchingModel, isBatchable, type LoadedModel, OnnxRuntime } from '../../src/runtime/index.js';
import { buildModel } from '../../src/onnx/index.js';
import { failingModel, fixedShapeModel, identityModel, twoInOutModel } from '../fixtures/models.js';

const runtime = new OnnxRuntime();
const f32 = (name: string, shape: number[], values: number[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape,
  data: Float32Array.from(values),
});

/** Counts the runs that reach the wrapped model and the rows in each. */
function counting(inner: LoadedModel): { model: LoadedModel; runs: number[] } {
  const runs: number[] = [];
  return {
    runs,
    model: {
      signature: inner.signature,
      run: (inputs, outputs) => {
        runs.push(inputs[0]?.shape[0] ?? 0);
        return inner.run(inputs, outputs);
      },
      dispose: () => inner.dispose(),
    },
  };
}

describe('BatchingModel', () => {
  let pair: LoadedModel;
  beforeAll(async () => {
    pair = await runtime.load(twoInOutModel());
  });
  afterAll(async () => pair.dispose());

  it('batches only models whose inputs and outputs all have a dynamic first dimension', async () => {
    expect(isBatchable(pair.signature)).toBe(true);
    const fixed = await runtime.load(fixedShapeModel());
    expect(isBatchable(fixed.signature)).toBe(false);
    await fixed.dispose();
  });

  it('joins concurrent requests into one run and gives each its own rows', async () => {
    const { model, runs } = counting(pair);
    const batching = new BatchingModel(model, { maxBatchSize: 64, maxQueueDelayUs: 0 });
    const requests = Array.from({ length: 10 }, (_, i) => {
      const rows = (i % 3) + 1;
      const a = Array.from({ length: rows * 2 }, (_, k) => i * 100 + k);
      const b = Array.from({ length: rows * 2 }, (_, k) => k + 1);
      return { rows, a, b };
    });
    const results = await Promise.all(
      requests.map((r) => batching.run([f32('a', [r.rows, 2], r.a), f32('b', [r.rows, 2], r.b)])),
    );
    expect(runs).toEqual([requests.reduce((n, r) => n + r.rows, 0)]);
    results.forEach((outs, i) => {
      const r = requests[i]!;
      expect(outs.map((o) => o.name)).toEqual(['sum', 'product']);
      expect(outs[0]!.shape).toEqual([r.rows, 2]);
      expect(Array.from(outs[0]!.data as Float32Array)).toEqual(r.a.map((x, k) => x + r.b[k]!));
      expect(Array.from(outs[1]!.data as Float32Array)).toEqual(r.a.map((x, k) => x * r.b[k]!));
    });
  });

  it('never puts more than maxBatchSize rows in one run', async () => {
    const { model, runs } = counting(pair);
    const batching = new BatchingModel(model, { maxBatchSize: 4, maxQueueDelayUs: 0 });
    await Promise.all(Array.from({ length: 10 }, () => batching.run([f32('a', [1, 2], [1, 2]), f32('b', [1, 2], [3, 4])])));
    expect(Math.max(...runs)).toBeLessThanOrEqual(4);
    expect(runs.reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('keeps requests with different output selections or trailing shapes apart', async () => {
    const ident = await runtime.load(identityModel('float32', ['batch', 'n']));
    const { model, runs } = counting(ident);
    const batching = new BatchingModel(model);
    const [three, four] = await Promise.all([
      batching.run([f32('x', [1, 3], [1, 2, 3])]),
      batching.run([f32('x', [1, 4], [1, 2, 3, 4])]),
    ]);
    expect(runs).toEqual([1, 1]);
    expect(Array.from(three![0]!.data as Float32Array)).toEqual([1, 2, 3]);
    expect(Array.from(four![0]!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    await ident.dispose();
  });

  it('retries a failed joined run request by request, so only the bad request fails', async () => {
    const failing = await runtime.load(failingModel());
    const batching = new BatchingModel(failing);
    const int64 = (values: bigint[]): Tensor => ({ name: 'index', datatype: 'INT64', shape: [values.length], data: BigInt64Array.from(values) });
    const results = await Promise.allSettled([batching.run([int64([1n, 2n])]), batching.run([int64([99n])]), batching.run([int64([3n])])]);
    expect(results[0]).toMatchObject({ status: 'fulfilled' });
    expect(Array.from((results[0] as PromiseFulfilledResult<Tensor[]>).value[0]!.data as Float32Array)).toEqual([10, 20]);
    expect(results[1]).toMatchObject({ status: 'rejected' });
    expect(String((results[1] as PromiseRejectedResult).reason)).toContain('model run failed');
    expect(Array.from((results[2] as PromiseFulfilledResult<Tensor[]>).value[0]!.data as Float32Array)).toEqual([30]);
    await failing.dispose();
  });

  it('falls back to one run per request for a model whose rows are not independent', async () => {
    // y = ReduceSum(x, axis 0, keepdims): declared [n, 2], but one row whatever the batch
    const reduce = await runtime.load(
      buildModel({
        inputs: [{ name: 'x', type: 'float32', shape: ['batch', 2] }],
        outputs: [{ name: 'y', type: 'float32', shape: ['n', 2] }],
        initializers: [{ name: 'axes', type: 'int64', dims: [1], data: [0n] }],
        nodes: [{ op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['y'], attributes: { keepdims: { i: 1 } } }],
        opset: 17,
      }),
    );
    const batching = new BatchingModel(reduce);
    const [a, b] = await Promise.all([
      batching.run([f32('x', [2, 2], [1, 2, 3, 4])]),
      batching.run([f32('x', [1, 2], [10, 20])]),
    ]);
    expect(Array.from(a![0]!.data as Float32Array)).toEqual([4, 6]);
    expect(Array.from(b![0]!.data as Float32Array)).toEqual([10, 20]);
    await reduce.dispose();
  });

  it('joins the requests that arrive while every run slot is busy, so batches grow with the load', async () => {
    const { model, runs } = counting(pair);
    let open!: () => void;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    const gated: LoadedModel = {
      ...model,
      run: async (i, o) => {
        await gate;
        return model.run(i, o);
      },
    };
    const queued: number[] = [];
    const batching = new BatchingModel(gated, { maxBatchSize: 64, maxQueueDelayUs: 0 }, { queued: (s) => queued.push(s) });
    const one = () => batching.run([f32('a', [1, 2], [1, 2]), f32('b', [1, 2], [3, 4])]);
    const first = one();
    await new Promise((r) => setImmediate(r)); // the first request takes the only slot
    const rest = Array.from({ length: 5 }, one);
    expect(batching.queued).toBe(5);
    open();
    await Promise.all([first, ...rest]);
    expect(runs).toEqual([1, 5]);
    expect(queued).toHaveLength(6);
  });

  it('refuses requests beyond maxQueueSize at once with NOT_READY', async () => {
    let rejected = 0;
    const batching = new BatchingModel(pair, { maxBatchSize: 64, maxQueueDelayUs: 200_000, maxQueueSize: 2 }, { rejected: () => rejected++ });
    const one = () => batching.run([f32('a', [1, 2], [1, 2]), f32('b', [1, 2], [3, 4])]);
    const results = await Promise.allSettled([one(), one(), one()]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ status: 503, code: 'BERTH_E_NOT_READY' });
    expect(rejected).toBe(1);
  });

  it('sends a batch that reaches a preferred size without waiting out the delay', async () => {
    const { model, runs } = counting(pair);
    const batching = new BatchingModel(model, { maxBatchSize: 64, maxQueueDelayUs: 10_000_000, preferredBatchSizes: [2] });
    const one = () => batching.run([f32('a', [1, 2], [1, 2]), f32('b', [1, 2], [3, 4])]);
    await Promise.all([one(), one()]);
    expect(runs).toEqual([2]);
  });

  it('takes new options in place, and sends what is queued when disposed', async () => {
    const { model, runs } = counting(await runtime.load(twoInOutModel()));
    const batching = new BatchingModel(model, { maxBatchSize: 64, maxQueueDelayUs: 10_000_000 });
    batching.configure({ maxBatchSize: 1, maxQueueDelayUs: 0 });
    await Promise.all([1, 2].map(() => batching.run([f32('a', [1, 2], [1, 2]), f32('b', [1, 2], [3, 4])])));
    expect(runs).toEqual([1, 1]);
    batching.configure({ maxBatchSize: 64, maxQueueDelayUs: 10_000_000 });
    const waiting = batching.run([f32('a', [1, 2], [1, 2]), f32('b', [1, 2], [3, 4])]);
    await batching.dispose();
    expect((await waiting)[0]!.shape).toEqual([1, 2]);
    await expect(batching.run([])).rejects.toMatchObject({ status: 503 });
  });
});
