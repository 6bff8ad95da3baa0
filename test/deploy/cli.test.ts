import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityModel } from '../fixtures/models.js';
import { http, runBerth, startTestServer, type TestServer } from '../helpers.js';
import { waitFor } from './load.js';

let t: TestServer;
const berth = (...args: string[]) => runBerth(t.home, args);
const remote = (...args: string[]) => runBerth(t.home, ['--server', t.url, ...args]);

beforeAll(async () => {
  t = await startTestServer(async (core) => {
    for (const name of ['local', 'picked', 'remote']) {
      await core.registry.register(name, identityModel('float32'), { alias: 'champion' });
      await core.registry.register(name, identityModel('float32'));
    }
  });
});
afterAll(async () => t.close());

const x3 = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] };

describe('berth deploy and berth deployments over local state', () => {
  it('records a deployment, lists it, pauses, resumes and rolls it back', async () => {
    const r = await berth('deploy', 'local', '2', '--strategy', 'canary', '--steps', '50,100', '--step-interval', '20s', '--slo-p95-ms', '250', '--json');
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d).toMatchObject({
      model: 'local',
      strategy: 'canary',
      stable_version: 1,
      candidate_version: 2,
      steps: [50, 100],
      step_interval_ms: 20_000,
      slo: { p95_ms: 250, error_rate: 0.01, min_requests: 20 },
    });
    // the server over this home picks the recorded deployment up and runs it
    await waitFor(async () => ((await http('GET', `${t.url}/api/v1/deployments/local`)).json.weight === 50 ? true : undefined));
    const list = await berth('deployments', 'list', '--json');
    expect(JSON.parse(list.stdout).deployments.map((x: { id: number }) => x.id)).toContain(d.id);
    const human = await berth('deployments', 'list');
    expect(human.stdout).toMatch(/^ID\s+MODEL\s+STRATEGY\s+STABLE\s+CANDIDATE\s+STATUS\s+WEIGHT\s+CREATED/);

    const paused = await berth('deployments', 'pause', 'local', '--json');
    expect(paused.code, paused.stderr).toBe(0);
    expect(JSON.parse(paused.stdout).status).toBe('paused');
    expect((await berth('deployments', 'pause', 'local')).code).toBe(1); // already paused: conflict
    const resumed = await berth('deployments', 'resume', 'local', '--json');
    expect(JSON.parse(resumed.stdout).status).toBe('running');
    const rolled = await berth('deployments', 'rollback', 'local', '--json');
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(JSON.parse(rolled.stdout)).toMatchObject({ status: 'rolled_back', weight: 0 });
    // the server applies the rollback: unversioned calls go to the stable version only
    await waitFor(async () => ((await http('GET', `${t.url}/api/v1/deployments/local`)).json.status === 'rolled_back' ? true : undefined));
    await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 10; i++) expect((await http('POST', `${t.url}/v2/models/local/infer`, x3)).json.model_version).toBe('1');
    const events = await berth('deployments', 'events', 'local', '--json');
    expect(JSON.parse(events.stdout).events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['created', 'step', 'paused', 'resumed', 'rolled_back']),
    );
  });

  it('starts a blue-green recorded by a local CLI while the server runs', async () => {
    const r = await berth('deploy', 'picked', '2', '--strategy', 'blue-green', '--grace', '1s');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deployment \d+: blue-green of 'picked' version 2 \(stable 1\)/);
    expect(r.stdout).toMatch(/recorded: rollouts run in the server/);
    await waitFor(async () => ((await http('GET', `${t.url}/api/v1/deployments/picked`)).json.status === 'promoted' ? true : undefined));
    const status = await berth('deployments', 'status', 'picked');
    expect(status.stdout).toMatch(/status: promoted, candidate weight 100%/);
  });

  it('rejects bad input with a message naming it and a non-zero exit', async () => {
    const [strategy, steps, missing, unknown] = await Promise.all([
      berth('deploy', 'local', '2', '--strategy', 'rainbow'),
      berth('deploy', 'local', '2', '--strategy', 'canary', '--steps', '10,5', '--json'),
      berth('deploy', 'local', '9', '--strategy', 'canary'),
      berth('deployments', 'status', 'nope'),
    ]);
    expect(strategy.code).toBe(1);
    expect(strategy.stderr).toMatch(/^error: strategy must be one of blue-green, canary, shadow/);
    expect(steps.code).toBe(1);
    expect(JSON.parse(steps.stderr)).toMatchObject({ code: 'BERTH_E_BAD_REQUEST' });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no version 9/);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/'nope' has no deployments/);
  });
});

describe('berth deploy and berth deployments --server', () => {
  it('deploys over the API, shows live windows and rolls back', async () => {
    const r = await remote('deploy', 'remote', '2', '--strategy', 'canary', '--steps', '50,100', '--step-interval', '20s', '--json');
    expect(r.code, r.stderr).toBe(0);
    await waitFor(async () => ((await http('GET', `${t.url}/api/v1/deployments/remote`)).json.weight === 50 ? true : undefined));
    for (let i = 0; i < 20; i++) await http('POST', `${t.url}/v2/models/remote/infer`, x3);
    const s = await remote('deployments', 'status', 'remote', '--json');
    expect(s.code, s.stderr).toBe(0);
    const view = JSON.parse(s.stdout);
    expect(view.live.stable.requests + view.live.candidate.requests).toBe(20);
    const human = await remote('deployments', 'status', 'remote');
    expect(human.stdout).toMatch(/VERSION\s+ROLE\s+CALLS\s+ERRORS\s+ERROR RATE\s+P95/);
    expect(human.stdout).toMatch(/step 1 of 2/);
    const rolled = await remote('deployments', 'rollback', 'remote', '--json');
    expect(JSON.parse(rolled.stdout)).toMatchObject({ status: 'rolled_back', weight: 0 });
    expect((await remote('deployments', 'list', '--json')).code).toBe(0);
  });
});
