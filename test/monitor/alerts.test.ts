import { createServer, type Server } from 'node:http';
import pino from 'pino';
import { Gauge } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BerthCore, openCore } from '../../src/core.js';
import { parseDuration } from '../../src/duration.js';
import { type AlertEvent, CallSignals, parseRules } from '../../src/monitor/alerts/index.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { identityModel, slowModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer, tempHome } from '../helpers.js';

/** A webhook receiver that records every body it is sent. */
async function receiver(): Promise<{ url: string; bodies: AlertEvent[]; close(): Promise<void> }> {
  const bodies: AlertEvent[] = [];
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => {
      data += c;
    });
    req.on('end', () => {
      bodies.push(JSON.parse(data) as AlertEvent);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, close: () => new Promise((r) => server.close(() => r())) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const row = { inputs: [{ name: 'x', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] };

/** Calls `path` back to back until `stop()` says enough. */
async function callUntil(url: string, stop: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!stop()) {
    if (Date.now() > end) throw new Error(`timed out calling ${url}`);
    const r = await http('POST', url, row);
    expect(r.status, r.text).toBe(200);
  }
}

function latencyRules(hook: string): string {
  return `rules:
  - name: svc-latency
    model: svc
    condition: { metric: p95_latency_ms, op: ">", value: 15 }
    window: 700ms
    for: 150ms
    actions:
      - webhook: ${hook}
      - log: {}
`;
}

describe('alert rules file', () => {
  it('parses durations with units', () => {
    expect([parseDuration('500ms'), parseDuration('30s'), parseDuration('5m'), parseDuration('0'), parseDuration('5')]).toEqual([500, 30_000, 300_000, 0, undefined]);
  });

  it('reads a rule with its defaults', () => {
    const [r] = parseRules('rules:\n  - name: acc\n    condition: { metric: accuracy, op: "<", value: 0.8 }\n');
    expect(r).toEqual({
      name: 'acc',
      condition: { metric: 'accuracy', op: '<', value: 0.8 },
      window: '5m',
      window_ms: 300_000,
      for: '0',
      for_ms: 0,
      actions: [],
    });
  });

  it('names the line and field of a mistake', () => {
    const text = 'rules:\n  - name: a\n    condition: { metric: accuracy, op: "<", value: 0.8 }\n  - name: b\n    condition:\n      metric: p99\n      op: ">"\n      value: 1\n';
    expect(() => parseRules(text, 'alerts.yaml')).toThrow(/^alerts\.yaml:6: rules\[1\]\.condition\.metric: must be one of drift_share, drift_score/);
    expect(() => parseRules('rules:\n  - name: d\n    condition: { metric: drift_score, op: ">", value: 0.2 }\n')).toThrow(/:3: rules\[0\]\.condition\.column: is required for drift_score/);
    expect(() => parseRules('rules:\n  - name: w\n    condition: { metric: error_rate, op: ">", value: 0.1 }\n    for: soon\n')).toThrow(/:4: rules\[0\]\.for: must be a number with a unit/);
    expect(() => parseRules('rules:\n  - name: w\n    condition: { metric: error_rate, op: "!=", value: 0.1 }\n')).toThrow(/rules\[0\]\.condition\.op: must be one of/);
    expect(() => parseRules('rules:\n  - name: w\n    condition: { metric: error_rate, op: ">", value: 0.1 }\n    actions:\n      - webhook: ftp://x\n')).toThrow(/:5: rules\[0\]\.actions\[0\]\.webhook: must be an http\(s\) URL/);
    expect(() => parseRules('rules:\n  - name: a\n    condition: { metric: accuracy, op: "<", value: 1 }\n  - name: a\n    condition: { metric: accuracy, op: "<", value: 1 }\n')).toThrow(/:4: rules\[1\]\.name: rule 'a' is declared twice/);
  });
});

describe('call signals', () => {
  const call = (model: string, time: number, ms: number, status = 200, version = 1) =>
    ({ model, version, requestId: undefined, status, seconds: ms / 1000, time, request: undefined, outputs: undefined, route: undefined, error: undefined }) as const;

  it('computes p95 latency of successful calls and the 5xx share over the window only', () => {
    let now = 100_000;
    const s = new CallSignals(() => now);
    s.observe(call('m', now - 60_000, 999)); // outside a 10 s window
    for (let i = 1; i <= 20; i++) s.observe(call('m', now - 1000 + i, i)); // 1..20 ms within the last second
    s.observe(call('m', now, 5000, 500, 2)); // a failure: not a latency, but an error
    s.observe(call('m', now, 1, 404, 2)); // a client error: neither
    expect(s.value('m', 'p95_latency_ms', { windowMs: 10_000 })).toBeCloseTo(19.05, 10); // numpy's linear p95 of 1..20
    expect(s.value('m', 'error_rate', { windowMs: 10_000 })).toBeCloseTo(1 / 22, 12);
    expect(s.version('m', 'error_rate')).toBe(2);
    expect(s.value('other', 'p95_latency_ms', { windowMs: 10_000 })).toBeUndefined();
    now += 20_000;
    expect(s.value('m', 'error_rate', { windowMs: 10_000 })).toBeUndefined(); // no calls in the window: no data
    expect(s.models()).toEqual(['m']);
  });
});

describe('latency alerts through the real server', () => {
  let hook: Awaited<ReturnType<typeof receiver>>;
  let home: string;
  let cleanup: () => Promise<void>;
  let core: BerthCore;
  let server: RunningServer | undefined;
  const heard: AlertEvent[] = [];

  const start = async () => {
    server = await startServer(core, { port: 0, logger: pino({ level: 'silent' }), defaultMetrics: false, alertIntervalMs: 40 });
    server.alerts.subscribe((e) => heard.push(e));
    await until('ready', async () => (await fetch(`${server?.url}/v2/health/ready`)).status === 200);
    return server;
  };

  beforeAll(async () => {
    hook = await receiver();
    ({ home, cleanup } = await tempHome());
    core = await openCore({ home });
    await core.registry.register('svc', slowModel(150)); // version 1: ~40 ms per call (2 intra-op threads), well above the 15 ms rule
    await core.registry.register('svc', identityModel('float32', ['batch', 4])); // version 2: fast
  });
  afterAll(async () => {
    await server?.close();
    await core.close();
    await hook.close();
    await cleanup();
  });

  it('fires once while the slow version answers and resolves once after the fast one takes over', async () => {
    const s = await start();
    const applied = await http('PUT', `${s.url}/api/v1/alerts`, { yaml: latencyRules(hook.url), file: 'alerts.yaml' });
    expect(applied.status, applied.text).toBe(200);
    expect(applied.json).toEqual({ applied: true, plan: [{ kind: 'rule', name: 'svc-latency', action: 'create' }] });

    await callUntil(`${s.url}/v2/models/svc/versions/1/infer`, () => hook.bodies.length >= 1);
    // keep the condition true well past firing: no second firing event
    const more = Date.now() + 300;
    await callUntil(`${s.url}/v2/models/svc/versions/1/infer`, () => Date.now() > more);
    await callUntil(`${s.url}/v2/models/svc/versions/2/infer`, () => hook.bodies.length >= 2);
    await sleep(300);

    expect(hook.bodies.map((b) => b.state)).toEqual(['firing', 'resolved']);
    const [firing, resolved] = hook.bodies as [AlertEvent, AlertEvent];
    expect(firing).toMatchObject({ rule: 'svc-latency', model: 'svc', version: 1, metric: 'p95_latency_ms', op: '>', threshold: 15, state: 'firing' });
    expect(firing.value).toBeGreaterThan(15);
    expect(resolved).toMatchObject({ rule: 'svc-latency', model: 'svc', version: 2, state: 'resolved', started_at: firing.started_at });
    expect(resolved.value).toBeLessThanOrEqual(15);
    expect(Date.parse(resolved.at)).toBeGreaterThanOrEqual(Date.parse(firing.at));
    expect(heard).toEqual(hook.bodies);

    const events = await http('GET', `${s.url}/api/v1/alerts/events`);
    expect(events.json.events).toEqual(hook.bodies);
    const listed = await http('GET', `${s.url}/api/v1/alerts`);
    expect(listed.json.rules).toMatchObject([{ name: 'svc-latency', model: 'svc', states: [] }]);
  });

  it('keeps a firing alert across a restart without sending its firing event again', async () => {
    let s = server as RunningServer;
    hook.bodies.length = 0;
    heard.length = 0;
    await callUntil(`${s.url}/v2/models/svc/versions/1/infer`, () => hook.bodies.length >= 1);
    expect(hook.bodies.map((b) => b.state)).toEqual(['firing']);
    const firing = hook.bodies[0] as AlertEvent;
    await s.close();

    s = await start();
    // no traffic yet: no data, so the alert neither resolves nor fires again
    await sleep(300);
    expect(hook.bodies).toHaveLength(1);
    const listed = await http('GET', `${s.url}/api/v1/alerts`);
    expect(listed.json.rules[0].states).toMatchObject([{ model: 'svc', state: 'firing', version: 1 }]);

    await callUntil(`${s.url}/v2/models/svc/versions/2/infer`, () => hook.bodies.length >= 2);
    await sleep(200);
    expect(hook.bodies.map((b) => b.state)).toEqual(['firing', 'resolved']);
    expect(hook.bodies[1]).toMatchObject({ state: 'resolved', started_at: firing.started_at, id: firing.id + 1 });
  });
});

describe('alerts on the live monitor gauges', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer(async () => {}, { alertIntervalMs: 0 });
  });
  afterAll(async () => t.close());

  // a plain gauge in place of the live monitor's (which computes its values when read)
  const gauge = (name: string, labelNames: string[]): Gauge => {
    t.server.metrics.registry.removeSingleMetric(name);
    return new Gauge({ name, help: name, labelNames, registers: [t.server.metrics.registry] });
  };

  it('fires and resolves on accuracy, a column drift score and the drift share', async () => {
    const apply = await http('PUT', `${t.url}/api/v1/alerts`, {
      rules: [
        { name: 'acc', model: 'weather', condition: { metric: 'accuracy', op: '<', value: 0.8 } },
        { name: 'temp-drift', condition: { metric: 'drift_score', column: 'temp', op: '>=', value: 0.1 }, for: '1h' },
        { name: 'share', model: 'weather', condition: { metric: 'drift_share', op: '>=', value: 0.5 } },
      ],
    });
    expect(apply.status, apply.text).toBe(200);
    const alerts = t.server.alerts;
    expect(await alerts.evaluate()).toEqual([]); // no gauges yet: nothing fires

    const accuracy = gauge('berth_accuracy', ['model', 'version']);
    const score = gauge('berth_drift_score', ['model', 'version', 'column', 'method']);
    accuracy.set({ model: 'weather', version: '3' }, 0.7);
    score.set({ model: 'weather', version: '3', column: 'temp', method: 'wasserstein' }, 0.4);
    score.set({ model: 'weather', version: '3', column: 'wind', method: 'wasserstein' }, 0.02);
    const fired = await alerts.evaluate();
    expect(fired.map((e) => [e.rule, e.state, e.model, e.version, e.value])).toEqual([
      ['acc', 'firing', 'weather', 3, 0.7],
      ['share', 'firing', 'weather', 3, 0.5],
    ]);
    // temp-drift holds but must do so for an hour first
    expect((await alerts.list()).find((r) => r.name === 'temp-drift')?.states).toMatchObject([{ model: 'weather', state: 'pending', value: 0.4 }]);
    expect(await alerts.evaluate()).toEqual([]);

    accuracy.set({ model: 'weather', version: '3' }, 0.9);
    score.set({ model: 'weather', version: '3', column: 'temp', method: 'wasserstein' }, 0.05);
    const resolved = await alerts.evaluate();
    expect(resolved.map((e) => [e.rule, e.state, e.value])).toEqual([
      ['acc', 'resolved', 0.9],
      ['share', 'resolved', 0],
    ]);
    expect((await alerts.list()).every((r) => r.states.length === 0)).toBe(true);

    // a rule removed while it fires is resolved, so that subscribers are not left waiting
    accuracy.set({ model: 'weather', version: '3' }, 0.5);
    expect((await alerts.evaluate()).map((e) => [e.rule, e.state])).toEqual([['acc', 'firing']]);
    await http('PUT', `${t.url}/api/v1/alerts`, { rules: [] });
    expect((await alerts.evaluate()).map((e) => [e.rule, e.state, e.reason])).toEqual([['acc', 'resolved', 'rule removed']]);
  });

  it('answers a plan without applying it, and applies idempotently', async () => {
    const rules = { rules: [{ name: 'acc', model: 'weather', condition: { metric: 'accuracy', op: '<', value: 0.6 } }] };
    await http('PUT', `${t.url}/api/v1/alerts`, { rules: [{ name: 'acc', condition: { metric: 'accuracy', op: '<', value: 0.8 } }, { name: 'old', condition: { metric: 'error_rate', op: '>', value: 0.1 } }] });
    const dry = await http('PUT', `${t.url}/api/v1/alerts`, { ...rules, dry_run: true });
    expect(dry.json).toEqual({
      applied: false,
      plan: [
        { kind: 'rule', name: 'acc', action: 'change' },
        { kind: 'rule', name: 'old', action: 'remove' },
      ],
    });
    expect((await http('PUT', `${t.url}/api/v1/alerts`, rules)).json.applied).toBe(true);
    expect((await http('PUT', `${t.url}/api/v1/alerts`, rules)).json.plan).toEqual([{ kind: 'rule', name: 'acc', action: 'unchanged' }]);
    const bad = await http('PUT', `${t.url}/api/v1/alerts`, { yaml: 'rules:\n  - name: x\n    condition: { metric: accuracy, op: "<" }\n', file: 'a.yaml' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/^a\.yaml:3: rules\[0\]\.condition\.value: must be a number/);
  });
});

describe('alerts API roles', () => {
  let t: TestServer;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    t = await startTestServer(async (core) => {
      for (const role of ['read', 'deploy', 'admin'] as const) tokens[role] = (await core.tokens.create(role)).secret;
    });
  });
  afterAll(async () => t.close());

  it('lets read tokens list and deploy or admin tokens apply', async () => {
    const as = (role: string) => ({ authorization: `Bearer ${tokens[role]}` });
    const body = { rules: [] };
    expect((await http('GET', `${t.url}/api/v1/alerts`, undefined, as('read'))).status).toBe(200);
    expect((await http('GET', `${t.url}/api/v1/alerts/events`, undefined, as('read'))).status).toBe(200);
    expect((await http('PUT', `${t.url}/api/v1/alerts`, body, as('read'))).status).toBe(403);
    expect((await http('PUT', `${t.url}/api/v1/alerts`, body, as('deploy'))).status).toBe(200);
    expect((await http('PUT', `${t.url}/api/v1/alerts`, body, as('admin'))).status).toBe(200);
    expect((await http('GET', `${t.url}/api/v1/alerts`)).status).toBe(401);
  });
});
