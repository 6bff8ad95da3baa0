// npm run bench -- routing [--seconds 5] [--rounds 3] [--concurrency 16] [--users 100000] [--only one,split,canary,exp] [--profile DIR]
//   [--calls 1000000] [--exp-calls 200000] (in-process micro-benchmarks of the routers first)
// The per-request cost of the traffic policy and of experiment assignment, in one run against one
// `berth serve` child process: the same identity model served (a) with no policy, one version,
// (b) two versions with the client choosing (half the calls to /versions/1/infer, half to
// /versions/2/infer, no policy), (c) under a canary held at 50% (the SLO windows and the 1 s guard
// ticks running), (d) in a 50/50 A/B experiment (exposures and request ids written to SQLite).
// Two versions serving means two batching queues with half-size batches and two sets of monitoring
// windows whoever splits the traffic, so (b) is the like-for-like baseline of (c) and (d): the loss
// against it is the cost of the policy; the loss against (a) adds the cost of serving two versions.
// Cases are interleaved round by round so that machine noise spreads over all of them; the table
// shows medians over rounds. The closed-loop client runs in this process over keep-alive node:http
// and sends every call an x-user-id drawn uniformly (seeded) from a population of `--users` users,
// so units repeat the way returning users do, and the same sequence in every case.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deployments, SqliteDeploymentStore } from '../src/deploy/index.js';
import { openExperiments } from '../src/experiments/index.js';
import { buildModel } from '../src/onnx/index.js';
import type { InferenceEvent } from '../src/serving/index.js';
import { closedLoop, freePort, type LoadResult, median, startProcess, stopProcess, table, waitReady } from './lib.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const CASES = [
  { key: 'one', name: 'no policy, one version', model: 'plain', paths: ['infer'] },
  { key: 'split', name: 'no policy, two versions, client split', model: 'plain', paths: ['versions/1/infer', 'versions/2/infer'] },
  { key: 'canary', name: 'canary at 50%', model: 'canary', paths: ['infer'] },
  { key: 'exp', name: 'A/B experiment 50/50', model: 'exp', paths: ['infer'] },
] as const;

function argOf(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
}

async function api(base: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * A keep-alive POST client that calls `urls` in turn, sends one x-user-id of a population of `users`
 * per call (a seeded uniform draw, so the same sequence in every case) and counts the versions answering.
 */
function poster(urls: readonly string[], body: string, connections: number, users: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const bytes = Buffer.from(body);
  const targets = urls.map((url) => new URL(url));
  const versions = new Map<string, number>();
  let seq = 0;
  let rnd = 0x9e3779b9;
  const nextUser = () => {
    rnd ^= rnd << 13;
    rnd ^= rnd >>> 17;
    rnd ^= rnd << 5;
    return (rnd >>> 0) % users;
  };
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const u = targets[seq++ % targets.length] as URL;
      const headers = { 'content-type': 'application/json', 'content-length': bytes.length, 'x-user-id': `user-${nextUser()}` };
      const req = http.request({ agent, method: 'POST', host: u.hostname, port: u.port, path: u.pathname, headers }, (res) => {
        const v = String(res.headers['x-model-version']);
        versions.set(v, (versions.get(v) ?? 0) + 1);
        res.on('data', () => {});
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(bytes);
    });
  return { call, versions, close: () => agent.destroy() };
}

/** CPU seconds (user + system, every thread) a process has used so far, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number | undefined, file = `/proc/${pid}/stat`): number {
  try {
    // fields after the ")" that closes the command name: state is 3rd overall, utime 14th, stime 15th
    const fields = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks; USER_HZ is 100 on Linux
  } catch {
    return Number.NaN;
  }
}

const nsPer = (start: bigint, n: number): number => Number(process.hrtime.bigint() - start) / n;

/** ns per call of the rollouts' router and observer in this process, for a model with and without a canary. */
function micro(calls: number, runs: number): string {
  const d = new Deployments(new SqliteDeploymentStore(':memory:'), { registry: {} as never });
  d.router.set('canary', 1, 1, 2, 50);
  d.observer.watch.track('canary', [1, 2]);
  const request = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array(4) }] };
  const event = (model: string, version: number): InferenceEvent => ({
    model,
    version,
    requestId: 'r', status: 200, seconds: 0.001, time: Date.now(), request, outputs: request.inputs, route: undefined, error: undefined,
  });
  const plainEvent = event('plain', 1);
  const canaryEvent = event('canary', 2);
  const times: Record<string, number[]> = { routeNone: [], routeCanary: [], observeNone: [], observeCanary: [] };
  let sink = 0;
  for (let r = 0; r < runs; r++) {
    let t = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) if (d.router.route({ model: 'plain' }) === undefined) sink++;
    times.routeNone?.push(nsPer(t, calls));
    t = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) sink += d.router.route({ model: 'canary' })?.version ?? 0;
    times.routeCanary?.push(nsPer(t, calls));
    t = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) d.observer.observe(plainEvent);
    times.observeNone?.push(nsPer(t, calls));
    t = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) d.observer.observe(canaryEvent);
    times.observeCanary?.push(nsPer(t, calls));
  }
  const ns = (k: string) => `${median(times[k] ?? []).toFixed(0)} ns`;
  return (
    `in-process hot-path cost per call, ${calls} calls x ${runs} runs, medians (sink ${sink % 7})\n` +
    table(
      ['hook', 'model without a rollout', 'model under a canary'],
      [
        ['router.route()', ns('routeNone'), ns('routeCanary')],
        ['observer.observe()', ns('observeNone'), ns('observeCanary')],
      ],
    ) +
    '\n\n'
  );
}

/** CPU seconds of this process's main thread (its tid is the pid), from /proc (Linux); NaN elsewhere. */
function mainThreadCpu(): number {
  return cpuSeconds(process.pid, `/proc/self/task/${process.pid}/stat`);
}

/**
 * µs of main-thread CPU per experiments route() in this process, flushes included (exposures go to
 * the SQLite store's writer thread), for `calls` calls whose units are drawn from `users`, first as
 * new units then as returning ones; and of the whole process (writer thread included).
 */
async function experimentsMicro(calls: number, users: number): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'berth-bench-exp-'));
  const x = await openExperiments({ home });
  try {
    await x.create({ name: 'bench', model: 'exp', variants: ['control=exp:1', 'treatment=exp:2'], unit: 'header:x-user-id', metric: 'binary' });
    let rnd = 0x9e3779b9;
    const rows: string[][] = [];
    for (const pass of ['mostly new units', 'returning units']) {
      const main0 = mainThreadCpu();
      const all0 = process.cpuUsage();
      for (let i = 0; i < calls; i++) {
        rnd ^= rnd << 13;
        rnd ^= rnd >>> 17;
        rnd ^= rnd << 5;
        x.route('exp', { 'x-user-id': `user-${(rnd >>> 0) % users}` }, `${pass[0]}-${i.toString(36).padStart(6, '0')}`);
        // request ids ascend as the server's do; yield as its event loop does, so timers and the writer's answers run
        if (i % 1024 === 1023) await new Promise((r) => setImmediate(r));
      }
      await x.flush();
      const all = process.cpuUsage(all0);
      rows.push([pass, ((mainThreadCpu() - main0) / calls * 1e6).toFixed(2), ((all.user + all.system) / calls).toFixed(2)]);
    }
    return (
      `experiments route() + flush in-process, ${calls} calls per pass over ${users} users\n` +
      table(['pass', 'main thread CPU µs/call', 'process CPU µs/call (writer thread included)'], rows) +
      '\n\n'
    );
  } finally {
    await x.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/** Runs the routing benchmark and prints its table. */
export async function routingBench(args: string[]): Promise<void> {
  const seconds = argOf(args, '--seconds', 5);
  const rounds = argOf(args, '--rounds', 3);
  const concurrency = argOf(args, '--concurrency', 16);
  const users = argOf(args, '--users', 100_000);
  const onlyAt = args.indexOf('--only');
  const only = onlyAt >= 0 ? new Set(String(args[onlyAt + 1]).split(',')) : undefined;
  const cases = CASES.filter((c) => only === undefined || only.has(c.key));
  process.stdout.write(micro(argOf(args, '--calls', 1_000_000), 7));
  process.stdout.write(await experimentsMicro(argOf(args, '--exp-calls', 200_000), users));
  const home = mkdtempSync(join(tmpdir(), 'berth-bench-routing-'));
  const file = join(home, 'identity.onnx');
  writeFileSync(
    file,
    buildModel({
      inputs: [{ name: 'x', type: 'float32', shape: ['batch', 4] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['batch', 4] }],
      nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
      graphName: 'identity',
    }),
  );
  const cli = (...a: string[]) => {
    const r = spawnSync(process.execPath, [CLI, '--home', home, ...a], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`berth ${a.join(' ')} failed: ${r.stderr}`);
  };
  for (const model of new Set(CASES.map((c) => c.model))) {
    cli('models', 'register', model, file, '--alias', 'champion');
    cli('models', 'register', model, file);
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // --profile DIR: a V8 CPU profile of the server (written when it stops), to see where a case's time goes
  const profileAt = args.indexOf('--profile');
  const profile = profileAt >= 0 ? ['--cpu-prof', '--cpu-prof-dir', String(args[profileAt + 1])] : [];
  const { child } = await startProcess(process.execPath, [...profile, CLI, '--home', home, 'serve', '--port', String(port), '--log-level', 'warn'], {}, null);
  child.stdout?.resume();
  child.stderr?.resume();
  try {
    await waitReady(`${base}/v2/health/ready`);
    // a canary that never judges (min_requests out of reach) so it stays at 50% for the whole run
    await api(base, '/api/v1/deployments', { model: 'canary', version: 2, strategy: 'canary', steps: '50,100', step_interval: '1h', min_requests: 1e9 });
    for (let i = 0; i < 100; i++) {
      const s = (await (await fetch(`${base}/api/v1/deployments/canary`)).json()) as { weight: number };
      if (s.weight === 50) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await api(base, '/api/v1/experiments', { name: 'bench', model: 'exp', variants: ['control=exp:1', 'treatment=exp:2'], unit: 'header:x-user-id', metric: 'binary' });
    const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
    const results = new Map<string, LoadResult[]>();
    const cpuPerCall = new Map<string, number[]>();
    const shares = new Map<string, Map<string, number>>();
    const urls = (c: (typeof CASES)[number]) => c.paths.map((p) => `${base}/v2/models/${c.model}/${p}`);
    for (const c of cases) await closedLoop(poster(urls(c), body, concurrency, users).call, concurrency, 1); // warm
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? cases : [...cases].reverse();
      for (const c of order) {
        const p = poster(urls(c), body, concurrency, users);
        const cpu0 = cpuSeconds(child.pid);
        const result = await closedLoop(p.call, concurrency, seconds);
        const calls = result.rps * seconds;
        cpuPerCall.set(c.name, [...(cpuPerCall.get(c.name) ?? []), ((cpuSeconds(child.pid) - cpu0) / calls) * 1e6]);
        p.close();
        results.set(c.name, [...(results.get(c.name) ?? []), result]);
        shares.set(c.name, p.versions);
      }
    }
    const canary = (await (await fetch(`${base}/api/v1/deployments/canary`)).json()) as { status: string; weight: number };
    const rpsOf = (c: (typeof CASES)[number]) => median((results.get(c.name) ?? []).map((x) => x.rps));
    const oneRps = rpsOf(CASES[0]);
    const splitRps = rpsOf(CASES[1]);
    const vs = (rps: number, base: number) => (base > 0 ? `${((rps / base - 1) * 100).toFixed(1)}%` : '-');
    const rows = cases.map((c) => {
      const rs = results.get(c.name) ?? [];
      const rps = rpsOf(c);
      const v = shares.get(c.name) ?? new Map();
      const total = [...v.values()].reduce((s, n) => s + n, 0);
      return [
        c.name,
        rps.toFixed(0),
        median(rs.map((x) => x.p50Ms)).toFixed(2),
        median(rs.map((x) => x.p99Ms)).toFixed(2),
        median(cpuPerCall.get(c.name) ?? []).toFixed(0),
        vs(rps, oneRps),
        vs(rps, splitRps),
        `${(((v.get('2') ?? 0) / Math.max(1, total)) * 100).toFixed(1)}%`,
        String(rs.reduce((s, x) => s + x.errors, 0)),
      ];
    });
    process.stdout.write(
      `routing: identity FP32 [1,4], ${concurrency} connections, ${seconds} s x ${rounds} rounds per case (medians), node closed loop, ` +
        `x-user-id uniform over ${users} users; canary ended the run ${canary.status} at ${canary.weight}%\n` +
        'the goal (< 5% loss) is judged on "vs two versions": same two versions serving, only the policy differs; ' +
        'server CPU = user + system time of the server process (all threads) per call, from /proc\n' +
        table(['case', 'req/s', 'p50 ms', 'p99 ms', 'server CPU µs/call', 'vs one version', 'vs two versions (like-for-like)', 'answered by v2', 'errors'], rows) +
        '\n',
    );
  } finally {
    await stopProcess(child);
    rmSync(home, { recursive: true, force: true });
  }
}
