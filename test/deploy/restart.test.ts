import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BerthCore, openCore } from '../../src/core.js';
import { SqliteDeploymentStore } from '../../src/deploy/index.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { identityModel } from '../fixtures/models.js';
import { http, tempHome } from '../helpers.js';
import { startLoad, waitFor } from './load.js';

const x3 = () => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] });

let home: { home: string; cleanup(): Promise<void> };
let core: BerthCore;
let server: RunningServer;

async function boot(): Promise<RunningServer> {
  core = await openCore({ home: home.home });
  return startServer(core, { port: 0, logger: pino({ level: 'silent' }), defaultMetrics: false });
}

async function shutdown(): Promise<void> {
  await server.close();
  await core.close();
}

beforeAll(async () => {
  home = await tempHome();
  const c = await openCore({ home: home.home });
  await c.registry.register('m', identityModel('float32'), { alias: 'champion' });
  await c.registry.register('m', identityModel('float32'));
  await c.registry.register('bg', identityModel('float32'), { alias: 'champion' });
  await c.registry.register('bg', identityModel('float32'));
  await c.close();
  server = await boot();
});
afterAll(async () => {
  await shutdown();
  await home.cleanup();
});

const status = async () => (await http('GET', `${server.url}/api/v1/deployments/m`)).json;

describe('a server restarted mid-rollout', () => {
  it('comes back at the last passed canary step, paused, says so, and finishes once resumed', async () => {
    let load = startLoad(`${server.url}/v2/models/m/infer`, x3, 2, 5);
    await load.more(10);
    const created = await http('POST', `${server.url}/api/v1/deployments`, {
      model: 'm',
      version: 2,
      strategy: 'canary',
      steps: '20,60,100',
      step_interval: '300ms',
      min_requests: 8,
    });
    expect(created.status, created.text).toBe(201);
    // wait until the first step has passed and the second is in progress
    const mid = await waitFor(async () => {
      const s = await status();
      return (s.passed_step === 0 && s.step === 1) || s.finished_at !== null ? s : undefined;
    });
    expect(mid.status, mid.reason).toBe('running');
    await load.stop();
    await shutdown();

    server = await boot();
    const back = await waitFor(async () => {
      const s = await status();
      return s.recovered_at !== null && s.status === 'paused' ? s : undefined;
    });
    expect(back).toMatchObject({ status: 'paused', weight: 20, step: 0, passed_step: 0 });
    expect(back.reason).toMatch(/server restarted while running; back at 20%/);
    const evs = (await http('GET', `${server.url}/api/v1/deployments/m/events`)).json.events as { type: string; message: string }[];
    expect(evs.at(-1)?.type === 'recovered' || evs.some((e) => e.type === 'recovered')).toBe(true);
    // once re-warmed, the candidate gets its last safe share again, and no more while paused
    load = startLoad(`${server.url}/v2/models/m/infer`, x3, 2, 5);
    await waitFor(async () => (load.answers.filter((a) => a.version === '2').length >= 3 ? true : undefined));
    await new Promise((r) => setTimeout(r, 700));
    const held = await status();
    expect(held.status, held.reason).toBe('paused');

    const resumed = await http('POST', `${server.url}/api/v1/deployments/m/resume`);
    expect(resumed.status, resumed.text).toBe(200);
    const done = await waitFor(async () => {
      const s = await status();
      return s.status === 'promoted' || s.status === 'rolled_back' ? s : undefined;
    });
    expect(done.status, done.reason).toBe('promoted');
    const answers = await load.stop();
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const weights = ((await http('GET', `${server.url}/api/v1/deployments/m/events`)).json.events as { type: string; data: { weight?: number } }[])
      .filter((e) => e.type === 'step')
      .map((e) => e.data.weight);
    expect(weights).toEqual([20, 60, 60, 100]);
  });
});

describe('a blue-green interrupted before its switch', () => {
  it('comes back not switched, paused, and switches once resumed', async () => {
    await shutdown();
    // what a server killed while the candidate was warming leaves in the store
    const store = new SqliteDeploymentStore(`${home.home}/deployments.db`);
    const at = new Date().toISOString();
    const d = await store.create({
      model: 'bg',
      strategy: 'blue-green',
      stable_version: 1,
      candidate_version: 2,
      status: 'warming',
      weight: 0,
      steps: [100],
      step: -1,
      passed_step: -1,
      step_interval_ms: 30_000,
      slo: { p95_ms: null, error_rate: 0.01, min_requests: 20 },
      grace_ms: 1000,
      duration_ms: null,
      warmup_requests: 2,
      webhooks: [],
      reason: null,
      recovered_at: null,
      shadow: null,
      actor: null,
      created_at: at,
      updated_at: at,
      finished_at: null,
    });
    await store.close();
    server = await boot();
    const url = `${server.url}/api/v1/deployments/bg`;
    const back = await waitFor(async () => {
      const s = (await http('GET', url)).json;
      return s.recovered_at !== null ? s : undefined;
    });
    expect(back).toMatchObject({ id: d.id, status: 'paused', weight: 0 });
    expect(back.reason).toMatch(/server restarted while warming/);
    expect((await core.registry.getModel('bg'))?.aliases.champion).toBe(1);
    expect((await http('POST', `${server.url}/v2/models/bg/infer`, x3())).json.model_version).toBe('1');
    await waitFor(async () => ((await http('GET', `${url}/events`)).json.events.some((e: { type: string }) => e.type === 'warmed') ? true : undefined));
    expect((await http('POST', `${url}/resume`)).status).toBe(200);
    const done = await waitFor(async () => {
      const s = (await http('GET', url)).json;
      return s.status === 'promoted' ? s : undefined;
    });
    expect(done.weight).toBe(100);
    expect((await core.registry.getModel('bg'))?.aliases).toMatchObject({ champion: 2, previous: 1 });
  });
});
