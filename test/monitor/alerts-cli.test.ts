import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Gauge } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBerth, startTestServer, type TestServer, tempHome } from '../helpers.js';

const RULES = `rules:
  - name: weather-latency
    model: weather
    condition: { metric: p95_latency_ms, op: ">", value: 50 }
    window: 5m
    for: 2m
    actions:
      - webhook: http://127.0.0.1:9000/hook
      - log: {}
  - name: weather-accuracy
    model: weather
    condition: { metric: accuracy, op: "<", value: 0.8 }
`;

let home: string;
let cleanup: () => Promise<void>;
let t: TestServer;
let deployToken: string;
let readToken: string;

beforeAll(async () => {
  ({ home, cleanup } = await tempHome());
  await writeFile(join(home, 'alerts.yaml'), RULES);
  await writeFile(join(home, 'one.yaml'), RULES.split('  - name: weather-accuracy')[0] as string);
  await writeFile(join(home, 'bad.yaml'), 'rules:\n  - name: x\n    model: weather\n    condition: { metric: latency, op: ">", value: 1 }\n');
  t = await startTestServer(
    async (core) => {
      deployToken = (await core.tokens.create('deploy')).secret;
      readToken = (await core.tokens.create('read')).secret;
    },
    { alertIntervalMs: 0 },
  );
});
afterAll(async () => {
  await t.close();
  await cleanup();
});

describe('berth alerts (local home)', () => {
  it('prints the plan, applies, and is idempotent', async () => {
    const file = join(home, 'alerts.yaml');
    const dry = await runBerth(home, ['alerts', 'apply', file, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe('+ create rule weather-latency\n+ create rule weather-accuracy\nPlan: 2 to create, 0 to change, 0 to remove, 0 unchanged.\n');
    const applied = await runBerth(home, ['alerts', 'apply', file]);
    expect(applied.stdout).toMatch(/Applied: 2 to create, 0 to change, 0 to remove, 0 unchanged\.\n$/);
    const again = await runBerth(home, ['alerts', 'apply', file, '--json']);
    expect(JSON.parse(again.stdout)).toEqual({
      applied: true,
      plan: [
        { kind: 'rule', name: 'weather-latency', action: 'unchanged' },
        { kind: 'rule', name: 'weather-accuracy', action: 'unchanged' },
      ],
    });
    const fewer = await runBerth(home, ['alerts', 'apply', join(home, 'one.yaml')]);
    expect(fewer.stdout).toBe('- remove rule weather-accuracy\nApplied: 0 to create, 0 to change, 1 to remove, 1 unchanged.\n');
  });

  it('lists rules and an empty event history', async () => {
    const list = await runBerth(home, ['alerts', 'list']);
    expect(list.stdout).toMatch(/^RULE\s+MODEL\s+CONDITION\s+FOR\s+STATE\nweather-latency\s+weather\s+p95_latency_ms > 50\s+2m\s+ok\n$/);
    const json = JSON.parse((await runBerth(home, ['alerts', 'list', '--json'])).stdout);
    expect(json.rules[0]).toMatchObject({ name: 'weather-latency', window: '5m', window_ms: 300_000, for: '2m', for_ms: 120_000, states: [] });
    expect((await runBerth(home, ['alerts', 'events'])).stdout).toBe('No alert events.\n');
  });

  it('names the line and field of a mistake and exits non-zero', async () => {
    const r = await runBerth(home, ['alerts', 'apply', join(home, 'bad.yaml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: bad\.yaml:4: rules\[0\]\.condition\.metric: must be one of drift_share, drift_score, accuracy, p95_latency_ms, error_rate/);
  });
});

describe('berth alerts --server', () => {
  const remote = (token: string, ...args: string[]) => runBerth(home, ['--server', t.url, '--token', token, 'alerts', ...args]);

  it('applies with a deploy token, refuses a read token, and shows events', async () => {
    const file = join(home, 'alerts.yaml');
    expect((await remote(readToken, 'apply', file)).code).toBe(1);
    const applied = await remote(deployToken, 'apply', file, '--json');
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout).plan.map((p: { action: string }) => p.action)).toEqual(['create', 'create']);

    // a plain gauge in place of the live monitor's (which computes its values when read)
    t.server.metrics.registry.removeSingleMetric('berth_accuracy');
    const accuracy = new Gauge({ name: 'berth_accuracy', help: 'accuracy', labelNames: ['model', 'version'], registers: [t.server.metrics.registry] });
    accuracy.set({ model: 'weather', version: '2' }, 0.5);
    expect((await t.server.alerts.evaluate()).map((e) => e.state)).toEqual(['firing']);

    const list = await remote(readToken, 'list');
    expect(list.stdout).toMatch(/weather-accuracy\s+weather\s+accuracy < 0\.8\s+0\s+firing \(weather, 0\.5\)/);
    const events = JSON.parse((await remote(readToken, 'events', '--json')).stdout).events;
    expect(events).toMatchObject([{ id: 1, rule: 'weather-accuracy', model: 'weather', version: 2, metric: 'accuracy', op: '<', value: 0.5, threshold: 0.8, state: 'firing' }]);
    expect(Object.keys(events[0]).sort()).toEqual(['at', 'id', 'metric', 'model', 'op', 'rule', 'started_at', 'state', 'threshold', 'value', 'version']);
    const table = await remote(readToken, 'events', '--rule', 'weather-accuracy');
    expect(table.stdout).toMatch(/^AT\s+STATE\s+RULE\s+MODEL\s+VERSION\s+METRIC\s+VALUE\s+THRESHOLD\n\S+Z\s+firing\s+weather-accuracy\s+weather\s+2\s+accuracy\s+0\.5\s+< 0\.8\n$/);
  });
});
