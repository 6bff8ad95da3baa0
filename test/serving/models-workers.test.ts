import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerPoolRuntime } from '../../src/runtime/index.js';
import { slowModel, twoInOutModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer } from '../helpers.js';

let t: TestServer;
const pool = () => t.server.models.runtime as WorkerPoolRuntime;
const slowBody = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] };

beforeAll(async () => {
  t = await startTestServer(
    async (core) => {
      await core.registry.register('pair', twoInOutModel());
      await core.registry.register('slow', slowModel(10));
    },
    { workers: 2 },
  );
});
afterAll(async () => t.close());

/** One inference call that must finish within 20 s (a hang fails the test). */
async function call(): Promise<{ status: number; json: { error?: string; outputs?: { data: number[] }[] } }> {
  const res = await fetch(`${t.url}/v2/models/slow/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(slowBody),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, json: (await res.json()) as { error?: string; outputs?: { data: number[] }[] } };
}

describe('serving through worker threads', () => {
  it('runs models in the workers', async () => {
    expect(pool().size).toBe(2);
    expect(pool().threads).toHaveLength(2);
    const r = await http('POST', `${t.url}/v2/models/pair/infer`, {
      inputs: [
        { name: 'a', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] },
        { name: 'b', shape: [2, 2], datatype: 'FP32', data: [10, 20, 30, 40] },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.json.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data])).toEqual([
      ['sum', [11, 22, 33, 44]],
      ['product', [10, 40, 90, 160]],
    ]);
  });

  it('survives a worker killed under load: every answer is 200 or a 503 with an error body, none hangs', async () => {
    const victim = pool().threads[0]!;
    const answers: Promise<Awaited<ReturnType<typeof call>>>[] = [];
    // 16 clients, each sending requests back to back while a worker is killed
    let stop = false;
    const clients = Array.from({ length: 16 }, async () => {
      while (!stop) {
        const a = call();
        answers.push(a);
        await a;
      }
    });
    await new Promise((r) => setTimeout(r, 150));
    pool().exitWorker(0);
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(clients);
    const results = await Promise.all(answers);
    expect(results.length).toBeGreaterThan(16);
    for (const r of results) {
      if (r.status === 200) expect(r.json.outputs?.[0]?.data).toEqual([1, 2, 3, 4]);
      else {
        expect(r.status).toBe(503);
        expect(typeof r.json.error).toBe('string');
      }
    }
    // the replacement starts and the pool serves again with both workers
    for (let i = 0; i < 200 && pool().threads.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(pool().threads).toHaveLength(2);
    expect(pool().threads).not.toContain(victim);
    const again = await Promise.all(Array.from({ length: 8 }, () => call()));
    for (const r of again) expect(r.status).toBe(200);
  });

  it('answers 503 with Retry-After and a V2 error body while no worker holds the model', async () => {
    const p = pool();
    // kill both: until the replacements have reloaded the model, calls get 503 (never a hang)
    for (let i = 0; i < p.size; i++) p.exitWorker(i);
    const r = await call();
    if (r.status === 503) expect(typeof r.json.error).toBe('string');
    else expect(r.status).toBe(200);
    const res = await fetch(`${t.url}/v2/models/slow/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(slowBody),
    });
    if (res.status === 503) expect(res.headers.get('retry-after')).toBe('1');
    for (let i = 0; i < 200; i++) {
      if ((await call()).status === 200) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('the pool never served again');
  });
});
