import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer } from '../helpers.js';

let t: TestServer;
const body = (v: number) => ({ inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [v, v + 1, v + 2] }] });
const infer = (model: string, v: number) => http('POST', `${t.url}/v2/models/${model}/infer`, body(v));

/** The value of one sample in the Prometheus text, 0 when absent. */
async function sample(name: string, model: string, extra = ''): Promise<number> {
  const text = (await http('GET', `${t.url}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`model="${model}"`) && l.includes(extra));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

beforeAll(async () => {
  t = await startTestServer(async (core) => {
    const ident = identityModel('float32');
    // held for 2 s unless 4 rows arrive first
    await core.registry.register('preferred', ident, { tags: { max_queue_delay_us: '2000000', preferred_batch_sizes: '4' } });
    await core.registry.register('delayed', ident, { tags: { max_queue_delay_us: '100000' } });
    await core.registry.register('tiny_queue', ident, { tags: { max_queue_delay_us: '1000000', max_queue_size: '2' } });
    await core.registry.register('solo', ident, { tags: { max_batch_size: '1', max_queue_delay_us: '300000' } });
    await core.registry.register('cached', ident, { tags: { cache_max_bytes: '100000' } });
    await core.registry.register('broken', ident, { tags: { max_batch_size: 'many' } });
    await core.registry.register('retuned', ident);
  });
});
afterAll(async () => t.close());

describe('per-model dynamic batching from version tags', () => {
  it('sends a batch as soon as it reaches a preferred size, without waiting out the delay', async () => {
    const answers = await Promise.all([0, 10, 20, 30].map((v) => infer('preferred', v)));
    answers.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.json.outputs[0].data).toEqual([i * 10, i * 10 + 1, i * 10 + 2]);
    });
    expect(await sample('berth_batch_size_count', 'preferred')).toBe(1);
    expect(await sample('berth_batch_size_sum', 'preferred')).toBe(4);
    // queued well under the 2 s delay: the preferred size sent it
    expect(await sample('berth_batch_queue_seconds_sum', 'preferred')).toBeLessThan(4 * 1.5);
    expect(await sample('berth_batch_compute_seconds_count', 'preferred')).toBe(1);
  });

  it('holds a lone request for its delay, and no longer', async () => {
    expect((await infer('delayed', 1)).status).toBe(200);
    const waited = await sample('berth_batch_queue_seconds_sum', 'delayed');
    expect(waited).toBeGreaterThanOrEqual(0.1);
    expect(waited).toBeLessThan(1); // the delay is 0.1 s; generous room for a loaded machine
    expect(await sample('berth_batch_queue_seconds_count', 'delayed')).toBe(1);
  });

  it('answers 503 with Retry-After and a V2 error body when the queue is full, and counts it', async () => {
    const answers = await Promise.all([1, 2, 3, 4, 5].map((v) => infer('tiny_queue', v)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 503, 503, 503]);
    for (const r of answers.filter((a) => a.status === 503)) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.json).toEqual({ error: expect.stringContaining('queue is full') });
    }
    expect(await sample('berth_batch_rejected_total', 'tiny_queue')).toBe(3);
  });

  it('runs every request on its own with max_batch_size 1 (and never delays it)', async () => {
    const answers = await Promise.all([1, 2, 3].map((v) => infer('solo', v)));
    for (const r of answers) expect(r.status).toBe(200);
    expect(await sample('berth_batch_size_count', 'solo')).toBe(3);
    expect(await sample('berth_batch_size_sum', 'solo')).toBe(3);
    expect(await sample('berth_batch_queue_seconds_sum', 'solo')).toBeLessThan(0.3);
  });

  it('puts the prediction cache in front of the queue when cache_max_bytes is set', async () => {
    expect((await infer('cached', 7)).json.outputs[0].data).toEqual([7, 8, 9]);
    expect((await infer('cached', 7)).json.outputs[0].data).toEqual([7, 8, 9]);
    expect(await sample('berth_cache_misses_total', 'cached')).toBe(1);
    expect(await sample('berth_cache_hits_total', 'cached')).toBe(1);
    expect(await sample('berth_batch_size_count', 'cached')).toBe(1); // the hit skipped the queue
  });

  it('refuses to serve a version with an invalid serving tag, naming the tag', async () => {
    const r = await infer('broken', 1);
    expect(r.status).toBe(400);
    expect(r.json.error).toContain('max_batch_size');
  });

  it('applies tag changes to a loaded version', async () => {
    expect((await infer('retuned', 1)).status).toBe(200);
    await t.core.registry.setVersionTag('retuned', 1, 'max_queue_size', '1');
    await t.core.registry.setVersionTag('retuned', 1, 'max_queue_delay_us', '1000000');
    t.server.models.invalidate(); // what a change through the management API does
    const answers = await Promise.all([1, 2, 3].map((v) => infer('retuned', v)));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 503, 503]);
    // and a fixed tag brings a refused version back
    await t.core.registry.setVersionTag('broken', 1, 'max_batch_size', '8');
    t.server.models.invalidate();
    expect((await infer('broken', 1)).status).toBe(200);
  });
});
