import { createServer, type Server } from 'node:http';
import { credentials, type ServiceError } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/onnx/index.js';
import { inferenceService } from '../../src/serving/grpc/index.js';
import { identityModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer } from '../helpers.js';
import { type Answer, startLoad, waitFor } from './load.js';

const x3 = () => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] });

/** y = x + x: same signature as the identity, different answers. */
function doubleModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', 3] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['batch', 3] }],
    nodes: [{ op: 'Add', inputs: ['x', 'x'], outputs: ['y'] }],
    graphName: 'double',
  });
}

let t: TestServer;
let hook: Server;
let hookUrl: string;
const delivered: { type: string; model: string }[] = [];

beforeAll(async () => {
  t = await startTestServer(async (core) => {
    for (const name of ['bg', 'canary', 'shadow']) {
      await core.registry.register(name, identityModel('float32'), { alias: 'champion' });
      await core.registry.register(name, name === 'shadow' ? identityModel('float32') : identityModel('float32'));
    }
    await core.registry.register('shadow', doubleModel());
  }, { grpcPort: 0 });
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      delivered.push(JSON.parse(body));
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const a = hook.address();
  hookUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
});
afterAll(async () => {
  await t.close();
  await new Promise((r) => hook.close(r));
});

let load: ReturnType<typeof startLoad> | undefined;
afterEach(async () => {
  await load?.stop();
  load = undefined;
});

const status = async (model: string) => (await http('GET', `${t.url}/api/v1/deployments/${model}`)).json;
const events = async (model: string) => (await http('GET', `${t.url}/api/v1/deployments/${model}/events`)).json.events as { type: string; at: string; data: Record<string, unknown> }[];
const settled = (model: string, statuses = ['promoted', 'rolled_back', 'failed', 'completed']) =>
  waitFor(async () => {
    const s = await status(model);
    return statuses.includes(s.status) ? s : undefined;
  }, 20_000, `${model} to finish`);

const SLO_MS = 2000;

/** Every answer a 200, none slower than the SLO. */
function expectAllOk(answers: Answer[]): void {
  const bad = answers.filter((a) => a.status !== 200);
  expect(bad.length, JSON.stringify(bad.slice(0, 3))).toBe(0);
  expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(SLO_MS);
}

describe('blue-green under load', () => {
  it('warms the candidate, switches all traffic at once, moves champion and keeps previous; no call fails', async () => {
    load = startLoad(`${t.url}/v2/models/bg/infer`, x3);
    await load.more(30);
    const created = await http('POST', `${t.url}/api/v1/deployments`, {
      model: 'bg',
      version: 2,
      strategy: 'blue-green',
      grace: '1s',
      webhooks: [hookUrl],
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ model: 'bg', strategy: 'blue-green', stable_version: 1, candidate_version: 2 });
    const done = await settled('bg');
    expect(done.status).toBe('promoted');
    await load.more(50);
    const answers = await load.stop();
    load = undefined;
    expectAllOk(answers);
    const switchedAt = Date.parse((await events('bg')).find((e) => e.type === 'switched')?.at ?? '');
    // before the switch only version 1 answered; the last answers all come from version 2
    expect(answers.filter((a) => a.at < switchedAt - 50).every((a) => a.version === '1')).toBe(true);
    expect(answers.slice(-20).every((a) => a.version === '2')).toBe(true);
    const model = (await t.core.registry.getModel('bg'))?.aliases;
    expect(model).toMatchObject({ champion: 2, previous: 1 });
    const types = (await events('bg')).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['created', 'warming', 'warmed', 'switched', 'alias_moved', 'promoted']));
    expect(types.indexOf('warmed')).toBeLessThan(types.indexOf('switched'));
    // the old version stays loaded for the grace period, then is unloaded
    expect(t.server.models.list().some((m) => m.model === 'bg' && m.version === 1 && m.state === 'ready')).toBe(true);
    await waitFor(async () => ((await events('bg')).some((e) => e.type === 'unloaded') ? true : undefined), 5_000, 'unload');
    // every event reached the webhook
    await waitFor(async () => (delivered.filter((e) => e.model === 'bg').length >= types.length ? true : undefined), 5_000, 'webhooks');
    expect(delivered.filter((e) => e.model === 'bg').map((e) => e.type)).toEqual(expect.arrayContaining(['created', 'switched', 'promoted']));
  });

  it('rolls a promoted deployment back instantly: champion returns to the old version', async () => {
    const r = await http('POST', `${t.url}/api/v1/deployments/bg/rollback`);
    expect(r.status, r.text).toBe(200);
    expect(r.json.status).toBe('rolled_back');
    expect((await t.core.registry.getModel('bg'))?.aliases).toMatchObject({ champion: 1, previous: 2 });
    const answer = await http('POST', `${t.url}/v2/models/bg/infer`, x3());
    expect(answer.json.model_version).toBe('1');
  });
});

describe('canary under load', () => {
  it('steps the weight up, holds each step against the SLO and promotes; no call fails', async () => {
    load = startLoad(`${t.url}/v2/models/canary/infer`, x3);
    await load.more(20);
    const created = await http('POST', `${t.url}/api/v1/deployments`, {
      model: 'canary',
      version: '2',
      strategy: 'canary',
      steps: '50,100',
      step_interval: '1s',
      slo_p95_ms: SLO_MS,
      min_requests: 10,
    });
    expect(created.status, created.text).toBe(201);
    const mid = await waitFor(async () => {
      const s = await status('canary');
      return s.status === 'running' && s.weight === 50 ? s : undefined;
    });
    expect(mid.live.candidate.version).toBe(2);
    // the split and the running rollout are Prometheus metrics too
    const scraped = (await http('GET', `${t.url}/metrics`)).text;
    expect(scraped).toContain('berth_deployment_traffic_percent{model="canary",version="1"} 50');
    expect(scraped).toContain('berth_deployment_traffic_percent{model="canary",version="2"} 50');
    expect(scraped).toContain('berth_deployment_active{model="canary",strategy="canary",status="running",candidate_version="2"} 1');
    expect(scraped).toMatch(/berth_deployment_events_total\{model="canary",type="step"\} 1\n/);
    // an explicit version bypasses the policy
    expect((await http('POST', `${t.url}/v2/models/canary/versions/1/infer`, x3())).json.model_version).toBe('1');
    // gRPC calls follow the same policy
    const Ctor = inferenceService();
    const client = new Ctor(t.server.grpc?.address as string, credentials.createInsecure());
    const call = (client as unknown as Record<string, (...a: unknown[]) => void>).ModelInfer as (...a: unknown[]) => void;
    const grpcVersion = () =>
      new Promise<string>((resolve, reject) =>
        call.call(
          client,
          { model_name: 'canary', inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '3'], contents: { fp32_contents: [1, 2, 3] } }] },
          (err: ServiceError | null, value: { model_version: string }) => (err ? reject(err) : resolve(value.model_version)),
        ),
      );
    try {
      const seen = new Set<string>();
      for (let i = 0; i < 40 && seen.size < 2; i++) seen.add(await grpcVersion());
      expect(seen).toEqual(new Set(['1', '2']));
    } finally {
      client.close();
    }
    const done = await settled('canary');
    expect(done.status, done.reason).toBe('promoted');
    await load.more(20);
    const answers = await load.stop();
    load = undefined;
    expectAllOk(answers);
    const versions = new Set(answers.map((a) => a.version));
    expect(versions).toEqual(new Set(['1', '2']));
    const evs = await events('canary');
    expect(evs.filter((e) => e.type === 'step').map((e) => e.data.weight)).toEqual([50, 100]);
    expect(evs.filter((e) => e.type === 'step_passed')).toHaveLength(2);
    const after = (await http('GET', `${t.url}/metrics`)).text;
    expect(after).toMatch(/berth_deployment_events_total\{model="canary",type="promoted"\} 1\n/);
    expect(after).not.toContain('berth_deployment_active{model="canary"');
    expect((await t.core.registry.getModel('canary'))?.aliases).toMatchObject({ champion: 2, previous: 1 });
    // a second deployment of the version that is now champion is refused
    const again = await http('POST', `${t.url}/api/v1/deployments`, { model: 'canary', version: 2, strategy: 'canary' });
    expect(again.status).toBe(409);
  });
});

describe('shadow', () => {
  it('copies live traffic to the candidate, compares answers and reports agreement; users only see stable', async () => {
    load = startLoad(`${t.url}/v2/models/shadow/infer`, x3);
    await load.more(10);
    const same = await http('POST', `${t.url}/api/v1/deployments`, { model: 'shadow', version: 2, strategy: 'shadow', step_interval: '200ms' });
    expect(same.status, same.text).toBe(201);
    const agreeing = await waitFor(async () => {
      const s = await status('shadow');
      return s.live?.shadow?.compared >= 20 ? s : undefined;
    });
    expect(agreeing.live.shadow.agreement_rate).toBe(1);
    expect(agreeing.live.shadow.shadow_p95_ms).toBeGreaterThan(0);
    await waitFor(async () => ((await events('shadow')).some((e) => e.type === 'shadow_report') ? true : undefined));
    expect((await http('POST', `${t.url}/api/v1/deployments/shadow/rollback`)).json.status).toBe('rolled_back');

    const differing = await http('POST', `${t.url}/api/v1/deployments`, { model: 'shadow', version: 3, strategy: 'shadow', duration: '1s' });
    expect(differing.status, differing.text).toBe(201);
    const done = await settled('shadow');
    expect(done.status).toBe('completed');
    expect(done.shadow.compared).toBeGreaterThan(0);
    expect(done.shadow.agreement_rate).toBe(0);
    const answers = await load.stop();
    load = undefined;
    expectAllOk(answers);
    expect(answers.every((a) => a.version === '1')).toBe(true);
  });
});

describe('deployments API', () => {
  it('validates input and reports unknown models', async () => {
    const bad = await http('POST', `${t.url}/api/v1/deployments`, { model: 'bg', version: 2, strategy: 'rainbow' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/strategy/);
    const steps = await http('POST', `${t.url}/api/v1/deployments`, { model: 'bg', version: 2, strategy: 'canary', steps: '10,50' });
    expect(steps.status).toBe(400);
    expect((await http('POST', `${t.url}/api/v1/deployments`, { model: 'nope', version: 2, strategy: 'canary' })).status).toBe(404);
    expect((await http('GET', `${t.url}/api/v1/deployments/nope`)).status).toBe(404);
    const list = await http('GET', `${t.url}/api/v1/deployments`);
    expect(list.json.deployments.length).toBeGreaterThan(0);
  });
});
