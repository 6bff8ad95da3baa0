import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/onnx/index.js';
import { failingModel, identityModel, slowModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer } from '../helpers.js';
import { startLoad, waitFor } from './load.js';

/** Like the failing fixture (index -> 10 * index) but with 100 entries, so indices 10..99 work. */
function bigLookupModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'index', type: 'int64', shape: ['batch'] }],
    outputs: [{ name: 'value', type: 'float32', shape: ['batch'] }],
    initializers: [{ name: 'table', type: 'float32', dims: [100], data: Array.from({ length: 100 }, (_, i) => 10 * i) }],
    nodes: [{ op: 'Gather', inputs: ['table', 'index'], outputs: ['value'], attributes: { axis: { i: 0 } } }],
    graphName: 'big_lookup',
  });
}

const INTERVAL_MS = 400;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer(async (core) => {
    await core.registry.register('slow', identityModel('float32', ['batch', 4]), { alias: 'champion' });
    await core.registry.register('slow', slowModel(150));
    await core.registry.register('lookup', bigLookupModel(), { alias: 'champion' });
    await core.registry.register('lookup', failingModel());
  });
});
afterAll(async () => t.close());

let load: ReturnType<typeof startLoad> | undefined;
afterEach(async () => {
  await load?.stop();
  load = undefined;
});

const status = async (model: string) => (await http('GET', `${t.url}/api/v1/deployments/${model}`)).json;
const events = async (model: string) =>
  (await http('GET', `${t.url}/api/v1/deployments/${model}/events`)).json.events as { type: string; at: string; message: string; data: Record<string, unknown> }[];

describe('automatic rollback', () => {
  it('rolls back a candidate slower than the SLO within two step intervals', async () => {
    load = startLoad(`${t.url}/v2/models/slow/infer`, () => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }), 4);
    await load.more(20);
    const created = await http('POST', `${t.url}/api/v1/deployments`, {
      model: 'slow',
      version: 2,
      strategy: 'canary',
      steps: [50, 100],
      step_interval: `${INTERVAL_MS}ms`,
      slo_p95_ms: 20,
      min_requests: 3,
    });
    expect(created.status, created.text).toBe(201);
    const done = await waitFor(async () => {
      const s = await status('slow');
      return ['rolled_back', 'promoted', 'failed'].includes(s.status) ? s : undefined;
    }, 20_000);
    expect(done.status).toBe('rolled_back');
    expect(done.weight).toBe(0);
    expect(done.reason).toMatch(/^automatic: p95 latency [0-9.]+ ms exceeds the SLO of 20 ms/);
    const evs = await events('slow');
    const step = evs.find((e) => e.type === 'step');
    const rolled = evs.find((e) => e.type === 'rolled_back');
    expect(evs.some((e) => e.type === 'slo_breach')).toBe(true);
    expect(evs.some((e) => e.type === 'step_passed')).toBe(false);
    expect(Date.parse(rolled?.at ?? '') - Date.parse(step?.at ?? '')).toBeLessThanOrEqual(2 * INTERVAL_MS);
    // the stable version serves everything again
    const after = Date.now();
    await new Promise((r) => setTimeout(r, 400));
    expect(load.answers.filter((a) => a.at > after + 100).length).toBeGreaterThan(0);
    expect(load.answers.filter((a) => a.at > after + 100).every((a) => a.version === '1' && a.status === 200)).toBe(true);
    expect((await t.core.registry.getModel('slow'))?.aliases.champion).toBe(1);
  });

  it('rolls back a candidate that fails at run time within two step intervals', async () => {
    // valid for both versions until the candidate takes traffic; then half the indices fail on it only
    let wide = false;
    let i = 0;
    load = startLoad(`${t.url}/v2/models/lookup/infer`, () => ({
      inputs: [{ name: 'index', datatype: 'INT64', shape: [1], data: [wide ? i++ % 20 : i++ % 10] }],
    }));
    await load.more(20);
    const created = await http('POST', `${t.url}/api/v1/deployments`, {
      model: 'lookup',
      version: 2,
      strategy: 'canary',
      steps: '50,100',
      step_interval: `${INTERVAL_MS}ms`,
      slo_error_rate: 0.05,
      min_requests: 5,
    });
    expect(created.status, created.text).toBe(201);
    await waitFor(async () => ((await status('lookup')).weight === 50 ? true : undefined));
    wide = true;
    const wideAt = Date.now();
    const done = await waitFor(async () => {
      const s = await status('lookup');
      return ['rolled_back', 'promoted', 'failed'].includes(s.status) ? s : undefined;
    });
    expect(done.status).toBe('rolled_back');
    expect(done.reason).toMatch(/^automatic: error rate/);
    const rolled = (await events('lookup')).find((e) => e.type === 'rolled_back');
    expect(Date.parse(rolled?.at ?? '') - wideAt).toBeLessThanOrEqual(2 * INTERVAL_MS);
    // after the rollback every answer is a 200 from the stable version again
    const after = Date.now();
    await new Promise((r) => setTimeout(r, 400));
    const late = load.answers.filter((a) => a.at > after + 100);
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((a) => a.status === 200 && a.version === '1')).toBe(true);
  });

  it('switches a blue-green deployment back when the new version breaches its SLO in the grace period', async () => {
    load = startLoad(`${t.url}/v2/models/slow/infer`, () => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }), 4);
    await load.more(20);
    const created = await http('POST', `${t.url}/api/v1/deployments`, {
      model: 'slow',
      version: 2,
      strategy: 'blue-green',
      step_interval: `${INTERVAL_MS}ms`,
      slo_p95_ms: 20,
      min_requests: 3,
      grace: '1m',
    });
    expect(created.status, created.text).toBe(201);
    const done = await waitFor(async () => {
      const s = await status('slow');
      return s.id === created.json.id && ['rolled_back', 'failed'].includes(s.status) ? s : undefined;
    }, 20_000);
    expect(done.status).toBe('rolled_back');
    expect(done.reason).toMatch(/^automatic: p95 latency [0-9.]+ ms exceeds the SLO of 20 ms/);
    const evs = (await events('slow')).filter((e) => Date.parse(e.at) >= Date.parse(created.json.created_at));
    const types = evs.map((e) => e.type);
    expect(types).toContain('switched');
    expect(types.indexOf('slo_breach')).toBeGreaterThan(types.indexOf('switched'));
    expect(types.lastIndexOf('rolled_back')).toBeGreaterThan(types.indexOf('slo_breach'));
    const switched = evs.find((e) => e.type === 'switched');
    const rolled = evs.findLast((e) => e.type === 'rolled_back');
    expect(Date.parse(rolled?.at ?? '') - Date.parse(switched?.at ?? '')).toBeLessThanOrEqual(2 * INTERVAL_MS);
    expect((await t.core.registry.getModel('slow'))?.aliases.champion).toBe(1);
    // the old version, still loaded, serves everything again
    const after = Date.now();
    await new Promise((r) => setTimeout(r, 400));
    const late = load.answers.filter((a) => a.at > after + 100);
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((a) => a.version === '1' && a.status === 200)).toBe(true);
  });

  it('never gives traffic to a candidate whose warm-up on replayed live requests fails', async () => {
    let i = 0;
    load = startLoad(`${t.url}/v2/models/lookup/infer`, () => ({ inputs: [{ name: 'index', datatype: 'INT64', shape: [1], data: [10 + (i++ % 10)] }] }));
    await load.more(20);
    const created = await http('POST', `${t.url}/api/v1/deployments`, { model: 'lookup', version: 2, strategy: 'blue-green' });
    expect(created.status, created.text).toBe(201);
    const done = await waitFor(async () => {
      const s = await status('lookup');
      return s.id === created.json.id && ['rolled_back', 'promoted', 'failed'].includes(s.status) ? s : undefined;
    });
    expect(done.status).toBe('failed');
    expect(done.reason).toMatch(/warm-up inference 1 of 5 \(replayed live request\) failed/);
    const answers = await load.stop();
    load = undefined;
    expect(answers.every((a) => a.status === 200 && a.version === '1')).toBe(true);
  });
});
