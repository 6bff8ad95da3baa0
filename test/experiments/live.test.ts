import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BerthCore, openCore } from '../../src/core.js';
import { BerthError } from '../../src/errors.js';
import { assignVariant, type Experiments, experimentsPlugin, openExperiments } from '../../src/experiments/index.js';
import { identityModel } from '../fixtures/models.js';
import { http, tempHome, type CliResult, runBerth } from '../helpers.js';

let home: string;
let serverHome: string;
let cleanups: (() => Promise<void>)[] = [];
let core: BerthCore;
let served: Experiments;
let app: FastifyInstance;
let url: string;

function berth(...args: string[]): Promise<CliResult> {
  return runBerth(home, args);
}
const json = async (...args: string[]) => {
  const r = await berth(...args, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  const a = await tempHome();
  const b = await tempHome();
  home = a.home;
  serverHome = b.home;
  cleanups = [a.cleanup, b.cleanup];
  const local = await openCore({ home });
  await local.registry.register('ranker', identityModel('float32'));
  await local.registry.register('ranker', identityModel('float32', ['batch', 5]), { alias: 'champion' });
  await local.close();
  core = await openCore({ home: serverHome });
  await core.registry.register('ranker', identityModel('float32'));
  await core.registry.register('ranker', identityModel('float32', ['batch', 5]));
  served = await openExperiments({ home: serverHome, registry: core.registry });
  // the same mapping of BerthError as src/server.ts, which registers experimentsPlugin beside its own
  app = Fastify();
  app.setErrorHandler((err: Error, _req, reply) =>
    err instanceof BerthError
      ? reply.code(err.status).send({ error: err.message, code: err.code })
      : reply.code((err as { statusCode?: number }).statusCode ?? 500).send({ error: err.message }),
  );
  await app.register(experimentsPlugin, { experiments: served });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  await served.close();
  await core.close();
  for (const c of cleanups) await c();
});

describe('berth experiments (local)', () => {
  it('creates, lists, shows, reports and stops an experiment', async () => {
    const e = await json(
      'experiments', 'create', 'ranking', '--model', 'ranker', '--variant', 'control=ranker:1',
      '--variant', 'treatment=ranker@champion', '--split', '50,50', '--unit', 'header:X-User-Id',
      '--metric', 'binary', '--mde', '0.02',
    );
    expect(e).toMatchObject({
      name: 'ranking',
      unit_header: 'x-user-id',
      mde: 0.02,
      variants: [
        { name: 'control', version: 1, weight: 50 },
        { name: 'treatment', version: 2, weight: 50 },
      ],
    });
    expect((await json('experiments', 'list')).experiments.map((x: { name: string }) => x.name)).toEqual(['ranking']);
    const human = await berth('experiments', 'show', 'ranking');
    expect(human.stdout).toMatch(/ranking: running, model 'ranker'/);
    expect(human.stdout).toMatch(/\ncontrol\s+ranker\s+1\s+50%\ntreatment\s+ranker\s+2\s+50%\n/);
    const report = await json('experiments', 'report', 'ranking');
    expect(report.note).toMatch(/waiting for data/);
    expect((await json('experiments', 'stop', 'ranking')).status).toBe('stopped');
  });

  it('rejects bad input naming the flag, with a non-zero exit', async () => {
    const args = ['--model', 'ranker', '--variant', 'control=ranker:1', '--variant', 'treatment=ranker:2', '--unit', 'header:x-user-id'];
    const [metric, alpha, missing, version, unknown, unit] = await Promise.all([
      berth('experiments', 'create', 'e1', ...args, '--metric', 'ratio'),
      berth('experiments', 'create', 'e2', ...args, '--metric', 'binary', '--alpha', 'lots', '--json'),
      berth('experiments', 'create', 'e3', '--model', 'ranker', '--metric', 'binary'),
      berth('experiments', 'create', 'e4', '--model', 'ranker', '--variant', 'control=ranker:1', '--variant', 't=ranker:9', '--unit', 'header:u', '--metric', 'binary'),
      berth('experiments', 'report', 'nope'),
      berth('experiments', 'create', 'e5', ...args.slice(0, 6), '--unit', 'cookie', '--metric', 'binary'),
    ]);
    expect([metric.code, metric.stderr]).toEqual([1, "error: metric must be binary or continuous, got 'ratio'\n"]);
    expect(alpha.code).toBe(1);
    expect(JSON.parse(alpha.stderr)).toEqual({ error: "--alpha expects a number, got 'lots'", code: 'BERTH_E_BAD_REQUEST' });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/--variant/);
    expect([version.code, version.stderr]).toEqual([1, "error: model 'ranker' has no version 9\n"]);
    expect([unknown.code, unknown.stderr]).toEqual([1, "error: experiment 'nope' not found\n"]);
    expect(unit.stderr).toMatch(/^error: unit must be header:NAME/);
  });
});

describe('/api/v1/experiments and the CLI against it (--server)', () => {
  it('creates over the CLI, takes outcomes over HTTP and reports over both', async () => {
    const created = await json(
      'experiments', 'create', 'remote-exp', '--server', url, '--model', 'ranker', '--variant', 'control=ranker:1',
      '--variant', 'treatment=ranker:2', '--unit', 'header:x-user-id', '--metric', 'continuous',
    );
    expect(created.status).toBe('running');
    // requests routed by the server's hook, outcomes posted later against their request ids
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const routed = users.map((u, i) => served.route('ranker', { 'x-user-id': u }, `req-${i}`));
    expect(routed.map((r) => r?.variant)).toEqual(users.map((u) => assignVariant(created, u)));
    const outcomes = users.map((_, i) => ({ request_id: `req-${i}`, value: i % 7 }));
    const posted = await http('POST', `${url}/api/v1/experiments/remote-exp/outcomes`, { outcomes });
    expect([posted.status, posted.json]).toEqual([200, { accepted: 40, unmatched: [] }]);
    const viaHttp = await http('GET', `${url}/api/v1/experiments/remote-exp/report`);
    expect(viaHttp.status).toBe(200);
    const viaCli = await json('experiments', 'report', 'remote-exp', '--server', url);
    expect(viaCli.variants).toEqual(viaHttp.json.variants);
    expect(viaCli.variants.reduce((s: number, v: { n: number }) => s + v.n, 0)).toBe(40);
    expect(viaCli.comparisons[0]).toMatchObject({ variant: 'treatment', test: 'welch-t' });
    const human = await berth('experiments', 'report', 'remote-exp', '--server', url);
    expect(human.stdout).toMatch(/ALWAYS-VALID P/);
    expect(human.stdout).toMatch(/sample-ratio-mismatch p-value: /);
    // the local home knows nothing of it
    expect((await berth('experiments', 'show', 'remote-exp')).code).toBe(1);
    const stopped = await http('POST', `${url}/api/v1/experiments/remote-exp/stop`);
    expect(stopped.json.status).toBe('stopped');
    expect((await http('GET', `${url}/api/v1/experiments`)).json.experiments[0].name).toBe('remote-exp');
  });

  it('answers bad requests with 400 naming the field, unknown names with 404', async () => {
    const bad = await http('POST', `${url}/api/v1/experiments`, { name: 'x', model: 'ranker', variants: ['a=ranker:1', 'b=ranker:2'], unit: 'header:u', metric: 'binary', alpha: 'high' });
    expect([bad.status, bad.json.error]).toEqual([400, 'alpha must be between 0 and 1, got high']);
    const array = await http('POST', `${url}/api/v1/experiments`, [1, 2]);
    expect(array.status).toBe(400);
    const missing = await http('GET', `${url}/api/v1/experiments/none/report`);
    expect([missing.status, missing.json.code]).toEqual([404, 'BERTH_E_NOT_FOUND']);
    await http('POST', `${url}/api/v1/experiments`, { name: 'b', model: 'ranker', variants: ['a=ranker:1', 'b=ranker:2'], unit: 'header:u', metric: 'binary' });
    const value = await http('POST', `${url}/api/v1/experiments/b/outcomes`, [{ unit_id: 'u1', value: 0.5 }]);
    expect([value.status, value.json.error]).toEqual([400, 'outcomes[0].value must be 0 or 1 (or true/false) for a binary metric, got 0.5']);
    const remote = await berth('experiments', 'stop', 'none', '--server', url);
    expect([remote.code, remote.stderr]).toEqual([1, "error: experiment 'none' not found (HTTP 404)\n"]);
  });
});
