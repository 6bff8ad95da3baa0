import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer } from '../helpers.js';

const CLI = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
let t: TestServer;
// biome-ignore lint/suspicious/noExplicitAny: the dashboard is arbitrary Grafana JSON
let dashboard: any;

beforeAll(async () => {
  t = await startTestServer(async (core) => void (await core.registry.register('m', identityModel('float32'))));
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, [CLI, 'grafana-dashboard', '--title', 'Prod'], { encoding: 'utf8' }, (e, stdout) => (e ? reject(e) : resolve(stdout))),
  );
  dashboard = JSON.parse(out);
});
afterAll(async () => t.close());

const exprs = (): string[] => dashboard.panels.flatMap((p: { targets: { expr: string }[] }) => p.targets.map((x) => x.expr));

describe('berth grafana-dashboard', () => {
  it('prints a dashboard with a Prometheus datasource variable and panels for latency, throughput, errors, drift and accuracy', () => {
    expect(dashboard.title).toBe('Prod');
    expect(dashboard.templating.list.map((v: { name: string }) => v.name)).toEqual(['datasource', 'model']);
    const titles = dashboard.panels.map((p: { title: string }) => p.title).join(' | ');
    for (const word of ['Latency', 'Requests per second', 'Error rate', 'Drift', 'Accuracy']) expect(titles).toContain(word);
    expect(new Set(dashboard.panels.map((p: { id: number }) => p.id)).size).toBe(dashboard.panels.length);
  });

  it('queries metrics the server really exports', async () => {
    await http('POST', `${t.url}/v2/models/m/infer`, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] });
    const exposed = (await http('GET', `${t.url}/metrics`)).text;
    const served = ['berth_inference_requests_total', 'berth_inference_duration_seconds_bucket', 'berth_batch_size', 'berth_models_loaded'];
    for (const name of served) {
      expect(exprs().some((e) => e.includes(name)), name).toBe(true);
      expect(exposed, name).toContain(name);
    }
  });

  it('writes queries that are valid PromQL (promtool check rules)', (ctx) => {
    if (spawnSync('promtool', ['--version']).error) {
      if (process.env.CI) throw new Error('promtool is required in CI (Debian package prometheus)');
      console.log('skipped: promtool not installed (apt-get install prometheus)');
      ctx.skip();
    }
    const rules = exprs()
      .map((e, i) => `      - record: berth:panel_${i}\n        expr: '${e.replaceAll('$model', '.*').replaceAll('$__rate_interval', '5m').replaceAll("'", "''")}'`)
      .join('\n');
    const file = join(t.home, 'rules.yml');
    writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
