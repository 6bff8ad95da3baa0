import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import type { Tensor } from '../../src/protocol/types.js';
import { type LoadedModel, WorkerPoolRuntime } from '../../src/runtime/index.js';
import { allTypesModel, failingModel, identityModel, slowModel, twoInOutModel } from '../fixtures/models.js';

const f32 = (name: string, shape: number[], values: number[]): Tensor => ({ name, datatype: 'FP32', shape, data: Float32Array.from(values) });

/** Waits until the pool has `n` live workers holding every model again. */
async function settle(pool: WorkerPoolRuntime, model: LoadedModel, probe: Tensor[]): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (pool.threads.length === pool.size) {
      try {
        await model.run(probe);
        return;
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('pool never recovered');
}

describe('WorkerPoolRuntime', () => {
  let pool: WorkerPoolRuntime;
  beforeAll(() => {
    pool = new WorkerPoolRuntime({ workers: 2 });
  });
  afterAll(async () => pool.close());

  it('loads a model in every worker and runs it there', async () => {
    const model = await pool.load(twoInOutModel());
    expect(model.signature.inputs.map((t) => t.name)).toEqual(['a', 'b']);
    expect(model.concurrency).toBe(2);
    const outs = await model.run([f32('a', [1, 2], [1, 2]), f32('b', [1, 2], [3, 4])]);
    expect(outs.map((o) => o.name)).toEqual(['sum', 'product']);
    expect(Array.from(outs[0]!.data as Float32Array)).toEqual([4, 6]);
    expect(Array.from(outs[1]!.data as Float32Array)).toEqual([3, 8]);
    const only = await model.run([f32('a', [1, 2], [1, 2]), f32('b', [1, 2], [3, 4])], ['product']);
    expect(only.map((o) => o.name)).toEqual(['product']);
    await model.dispose();
  });

  it('moves every datatype across threads and leaves the caller\'s tensors intact', async () => {
    const model = await pool.load(allTypesModel());
    const body = new Uint8Array(64); // stands in for a request body the tensors are views of
    const inputs: Tensor[] = model.signature.inputs.map((spec) => {
      switch (spec.datatype) {
        case 'BYTES':
          return { name: spec.name, datatype: 'BYTES', shape: [1, 2], data: ['a', 'bc'] };
        case 'INT64':
          return { name: spec.name, datatype: 'INT64', shape: [1, 2], data: BigInt64Array.from([-1n, 2n]) };
        case 'UINT64':
          return { name: spec.name, datatype: 'UINT64', shape: [1, 2], data: BigUint64Array.from([1n, 2n]) };
        case 'FP32':
          return { name: spec.name, datatype: 'FP32', shape: [1, 2], data: new Float32Array(body.buffer, 8, 2).fill(1.5) };
        default: {
          const Ctor = {
            BOOL: Uint8Array, UINT8: Uint8Array, UINT16: Uint16Array, UINT32: Uint32Array, INT8: Int8Array,
            INT16: Int16Array, INT32: Int32Array, FP16: Uint16Array, FP64: Float64Array,
          }[spec.datatype as 'BOOL'];
          return { name: spec.name, datatype: spec.datatype, shape: [1, 2], data: Ctor.from([1, 0]) };
        }
      }
    });
    const outs = await model.run(inputs);
    outs.forEach((o, i) => {
      const input = inputs[i]!;
      expect(o.datatype).toBe(input.datatype);
      expect(Array.from(o.data as ArrayLike<unknown>)).toEqual(Array.from(input.data as ArrayLike<unknown>));
      expect(o.data.constructor).toBe(input.data.constructor);
    });
    // nothing of the caller's was detached
    expect(body.byteLength).toBe(64);
    expect(Array.from(inputs.find((t) => t.datatype === 'FP32')!.data as Float32Array)).toEqual([1.5, 1.5]);
    await model.dispose();
  });

  it('reports model errors with their codes', async () => {
    await expect(pool.load(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'BERTH_E_INVALID_MODEL' });
    const model = await pool.load(failingModel());
    const bad = model.run([{ name: 'index', datatype: 'INT64', shape: [1], data: BigInt64Array.from([10n]) }]);
    await expect(bad).rejects.toBeInstanceOf(BerthError);
    await expect(bad).rejects.toMatchObject({ code: 'BERTH_E_INFERENCE' });
    await expect(model.run([{ name: 'index', datatype: 'INT64', shape: [1], data: BigInt64Array.from([1n]) }], ['nope'])).rejects.toMatchObject({
      code: 'BERTH_E_BAD_REQUEST',
      field: 'outputs',
    });
    await model.dispose();
    await expect(model.run([])).rejects.toMatchObject({ code: 'BERTH_E_NOT_READY' });
  });

  it('spreads concurrent runs over the workers', async () => {
    const model = await pool.load(slowModel(20));
    const x = f32('x', [1, 4], [1, 2, 3, 4]);
    const outs = await Promise.all(Array.from({ length: 8 }, () => model.run([x])));
    for (const o of outs) expect(Array.from(o[0]!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    await model.dispose();
  });

  it('replaces a worker that dies: its runs are retried or fail with 503, never hang', async () => {
    const model = await pool.load(slowModel(50));
    const other = await pool.load(identityModel('float32'));
    const x = f32('x', [1, 4], [1, 2, 3, 4]);
    const runs = Array.from({ length: 12 }, () => model.run([x]).then(() => 200, (e: BerthError) => e.status));
    const victim = pool.threads[0]!;
    pool.exitWorker(0);
    const statuses = await Promise.all(runs);
    for (const s of statuses) expect([200, 503]).toContain(s);
    await settle(pool, model, [x]);
    expect(pool.threads).not.toContain(victim);
    // the replacement got every model back
    const y = await other.run([f32('x', [1, 3], [7, 8, 9])]);
    expect(Array.from(y[0]!.data as Float32Array)).toEqual([7, 8, 9]);
    await model.dispose();
    await other.dispose();
  });

  it('fails the runs of a dead worker with 503 when no other worker can take them', async () => {
    const p = new WorkerPoolRuntime({ workers: 1 });
    const model = await p.load(slowModel(20));
    const x = f32('x', [1, 4], [1, 2, 3, 4]);
    const runs = Array.from({ length: 4 }, () => model.run([x]).then(() => 200, (e: BerthError) => [e.status, e.code]));
    p.exitWorker(0);
    const statuses = await Promise.all(runs);
    expect(statuses).toContainEqual([503, 'BERTH_E_NOT_READY']);
    await settle(p, model, [x]);
    await p.close();
  });

  it('fails runs with 503 once closed', async () => {
    const p = new WorkerPoolRuntime({ workers: 1 });
    const model = await p.load(identityModel('float32'));
    await p.close();
    await expect(model.run([f32('x', [1, 3], [1, 2, 3])])).rejects.toMatchObject({ status: 503 });
    await expect(p.load(identityModel('float32'))).rejects.toMatchObject({ status: 503 });
  });
});
