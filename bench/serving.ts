// npm run bench -- serving [--seconds 5] [--rounds 1] [--models demo,mlp,vad] [--concurrency 1,16,64] [--workers N]
//                          [--grpc-streams 16] [--grpc-client h2load|node]
// Berth (REST and gRPC) against a naive server (Fastify + one InferenceSession.run per request on the
// main thread) and a bare Fastify route that parses the request and answers a constant body (the
// ceiling), for three models, at concurrency 1, 16 and 64, all in this run. Each server is a child
// process of its own, started only while it is measured. The `client` column names the load tool of
// each row. REST load comes from wrk (one thread, one connection per concurrent request; autocannon
// without wrk). gRPC load comes from h2load (nghttp2-client; one thread), a C tool like wrk, POSTing
// the request encoded once with raw contents, as Triton's clients send it; its concurrency is
// connections x streams per connection, with at most --grpc-streams streams on a connection (64 =
// 4x16, 16 = 1x16, 1 = 1x1), as gRPC clients multiplex calls on a channel. Without h2load (or with
// --grpc-client node) a lean closed-loop node:http2 client in this process drives gRPC over one
// connection. Node clients cost more CPU per call than wrk, so Berth REST is also driven by a lean
// node:http closed loop: "gRPC/REST node" compares the wire formats with load tools of the same kind.
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWeatherDemo } from '../src/demo/index.js';
import { inferenceService } from '../src/serving/grpc/index.js';
import {
  closedLoop,
  freePort,
  grpcCheck,
  grpcShape,
  grpcUnary,
  h2loadGrpc,
  hasH2load,
  hasWrk,
  httpPost,
  type LoadResult,
  load,
  median,
  startProcess,
  stopProcess,
  table,
  waitReady,
} from './lib.js';
import { type BenchModel, benchModels, grpcRequest, restBody, wideMlp } from './models.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const TARGETS = ['Berth REST', 'Berth gRPC', 'Berth REST (node)', 'naive', 'ceiling'] as const;
type Target = (typeof TARGETS)[number];

interface Options {
  seconds: number;
  rounds: number;
  concurrencies: number[];
  models: BenchModel[];
  workers: string | undefined;
  /** Most concurrent gRPC streams on one h2load connection. */
  grpcStreams: number;
  /** Drives gRPC with h2load (when installed) or the node:http2 closed loop. */
  grpcClient: 'h2load' | 'node';
}

async function postJson(url: string, body: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** Writes the generated models and registers the selected models in a fresh Berth home. */
async function register(home: string, models: BenchModel[]): Promise<void> {
  const cli = (...a: string[]) => {
    const r = spawnSync(process.execPath, [CLI, '--home', home, ...a], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`berth ${a.join(' ')} failed: ${r.stderr}`);
  };
  for (const m of models) {
    if (m.name === 'weather') m.file = (await buildWeatherDemo(join(home, 'demo'))).modelPath;
    if (m.name === 'mlp') writeFileSync(m.file, wideMlp());
    cli('models', 'register', m.name, m.file, '--alias', 'champion');
  }
}

/** Runs the serving benchmark and prints its table. */
export async function servingBench(args: string[]): Promise<void> {
  const str = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const home = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const all = benchModels(home);
  const selected = (str('models') ?? 'demo,mlp,vad').split(',').map((k) => {
    const m = all[k.trim()];
    if (!m) throw new Error(`unknown model '${k}' (choose from ${Object.keys(all).join(', ')})`);
    return m;
  });
  const opts: Options = {
    seconds: Number(str('seconds') ?? 5),
    rounds: Number(str('rounds') ?? 1),
    concurrencies: (str('concurrency') ?? '1,16,64').split(',').map(Number),
    models: selected,
    workers: str('workers'),
    grpcStreams: Number(str('grpc-streams') ?? 16),
    grpcClient: str('grpc-client') === 'node' || !hasH2load() ? 'node' : 'h2load',
  };
  const results = new Map<string, LoadResult[]>();
  const clients = new Map<string, string>();
  const restClient = hasWrk() ? 'wrk' : 'autocannon';
  const record = (m: BenchModel, c: number, t: Target, r: LoadResult, client: string) => {
    const key = `${m.name}|${c}|${t}`;
    results.set(key, [...(results.get(key) ?? []), r]);
    clients.set(key, client);
  };
  let running: ChildProcess | undefined;
  try {
    await register(home, opts.models);
    process.stdout.write(
      `REST load: ${hasWrk() ? 'wrk (1 thread)' : 'autocannon'}; gRPC load: ` +
        (opts.grpcClient === 'h2load'
          ? `h2load (1 thread, connections x streams, at most ${opts.grpcStreams} streams per connection), raw contents; `
          : 'closed-loop node:http2 client (one connection), raw contents; ') +
        `${opts.rounds} round(s) x ${opts.seconds}s per cell${opts.rounds > 1 ? ', medians shown' : ''}\n`,
    );

    // Berth: one process serving every model on both ports, with its defaults.
    const [port, grpcPort] = [await freePort(), await freePort()];
    const serveArgs = [CLI, '--home', home, 'serve', '--port', String(port), '--grpc-port', String(grpcPort), '--log-level', 'warn'];
    if (opts.workers !== undefined) serveArgs.push('--workers', opts.workers);
    // extra `berth serve` flags for experiments, e.g. BENCH_SERVE_ARGS='--log-sample-rate 0'
    if (process.env.BENCH_SERVE_ARGS) serveArgs.push(...process.env.BENCH_SERVE_ARGS.split(/\s+/).filter(Boolean));
    running = (await startProcess(process.execPath, serveArgs, {}, null)).child;
    running.stdout?.resume();
    running.stderr?.resume();
    const berth = `http://127.0.0.1:${port}`;
    const responses: Record<string, unknown> = {};
    for (const m of opts.models) {
      await waitReady(`${berth}/v2/models/${m.name}/ready`);
      responses[m.name] = await postJson(`${berth}/v2/models/${m.name}/infer`, restBody(m));
    }
    const serialize = inferenceService().service.ModelInfer!.requestSerialize;
    const grpcAuthority = `http://127.0.0.1:${grpcPort}`;
    const grpcPath = '/inference.GRPCInferenceService/ModelInfer';
    for (const m of opts.models) {
      const url = `${berth}/v2/models/${m.name}/infer`;
      const body = restBody(m);
      const message = serialize(grpcRequest(m));
      const frame = Buffer.alloc(5 + message.length);
      frame.writeUInt32BE(message.length, 1);
      frame.set(message, 5);
      // A checked call first: fails fast on a bad request, and sizes the answer h2load's count relies on.
      const responseBytes = await grpcCheck(grpcAuthority, grpcPath, frame);
      const grpc = grpcUnary(grpcAuthority, grpcPath, message);
      const grpcLoad = async (c: number, seconds: number): Promise<[LoadResult, string]> => {
        if (opts.grpcClient === 'node') return [await closedLoop(grpc.call, c, seconds), 'node:http2 1 conn'];
        const { connections, streams } = grpcShape(c, opts.grpcStreams);
        const r = h2loadGrpc({ url: `${grpcAuthority}${grpcPath}`, frame, responseBytes, connections, streams, seconds });
        return [r, `h2load ${connections}x${streams}`];
      };
      try {
        await load(url, body, 16, 2); // warm-up
        await grpcLoad(16, 2);
        for (let r = 0; r < opts.rounds; r++) {
          for (const c of opts.concurrencies) {
            record(m, c, 'Berth REST', await load(url, body, c, opts.seconds), restClient);
            const [g, client] = await grpcLoad(c, opts.seconds);
            record(m, c, 'Berth gRPC', g, client);
            const rest = httpPost(url, body, c);
            record(m, c, 'Berth REST (node)', await closedLoop(rest.call, c, opts.seconds), 'node:http');
            rest.close();
          }
        }
        // and one after: the server still answers the same, correctly
        const after = await grpcCheck(grpcAuthority, grpcPath, frame);
        if (after !== responseBytes) throw new Error(`${m.name}: gRPC answer changed size under load (${responseBytes} -> ${after} bytes)`);
      } finally {
        grpc.close();
      }
    }
    await stopProcess(running);

    // The naive server, then the ceiling, each alone.
    const naiveModels = Object.fromEntries(opts.models.map((m) => [m.name, m.file]));
    const others: [Target, string, Record<string, string>][] = [
      ['naive', 'naive-server.ts', { MODELS: JSON.stringify(naiveModels) }],
      ['ceiling', 'ceiling.ts', { BODIES: JSON.stringify(responses) }],
    ];
    for (const [target, script, env] of others) {
      const p = await freePort();
      running = (await startProcess(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script)], { ...env, PORT: String(p) }, /LISTENING (\d+)/)).child;
      for (const m of opts.models) {
        const url = `http://127.0.0.1:${p}/v2/models/${m.name}/infer`;
        await postJson(url, restBody(m));
        await load(url, restBody(m), 16, 2);
        for (let r = 0; r < opts.rounds; r++) {
          for (const c of opts.concurrencies) record(m, c, target, await load(url, restBody(m), c, opts.seconds), restClient);
        }
      }
      await stopProcess(running);
    }
    running = undefined;
    report(opts, results, clients);
  } finally {
    if (running) await stopProcess(running);
    rmSync(home, { recursive: true, force: true });
  }
}

interface Stat {
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
}

function report(opts: Options, results: Map<string, LoadResult[]>, clients: Map<string, string>): void {
  const get = (m: BenchModel, c: number, t: Target): Stat => {
    const rs = results.get(`${m.name}|${c}|${t}`) ?? [];
    return {
      rps: median(rs.map((x) => x.rps)),
      p50: median(rs.map((x) => x.p50Ms)),
      p95: median(rs.map((x) => x.p95Ms)),
      p99: median(rs.map((x) => x.p99Ms)),
      errors: rs.reduce((n, x) => n + x.errors, 0),
    };
  };
  const rows: (string | number)[][] = [];
  for (const m of opts.models) {
    for (const c of opts.concurrencies) {
      const [rest, grpc, restNode, naive, ceiling] = TARGETS.map((t) => get(m, c, t)) as [Stat, Stat, Stat, Stat, Stat];
      for (const t of TARGETS) {
        const x = get(m, c, t);
        const first = t === 'Berth REST';
        rows.push([
          m.label,
          c,
          t,
          clients.get(`${m.name}|${c}|${t}`) ?? '',
          Math.round(x.rps),
          x.p50.toFixed(2),
          x.p95.toFixed(2),
          x.p99.toFixed(2),
          x.errors,
          first ? `${(rest.rps / naive.rps).toFixed(2)}x` : '',
          first ? `${((100 * rest.rps) / ceiling.rps).toFixed(0)}%` : '',
          first ? `${((100 * grpc.rps) / rest.rps).toFixed(0)}%` : '',
          first ? `${((100 * grpc.rps) / restNode.rps).toFixed(0)}%` : '',
        ]);
      }
    }
  }
  process.stdout.write(
    `${table(['model', 'conc', 'server', 'client', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'REST/naive', 'REST/ceiling', 'gRPC/REST', 'gRPC/REST node'], rows)}\n`,
  );
  const top = Math.max(...opts.concurrencies);
  const met = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
  const by = (name: string) => opts.models.find((m) => m.name === name);
  const mlp = by('mlp');
  if (mlp) {
    const [rest, naive] = [get(mlp, top, 'Berth REST'), get(mlp, top, 'naive')];
    const ok = rest.rps >= 3 * naive.rps && rest.p99 <= naive.p99;
    process.stdout.write(
      `goal wide MLP at c${top}: REST >= 3x naive with p99 no worse: ${(rest.rps / naive.rps).toFixed(2)}x, p99 ${rest.p99.toFixed(2)} vs ${naive.p99.toFixed(2)} ms: ${met(ok)}\n`,
    );
  }
  const demo = by('weather');
  if (demo) {
    const [rest, ceiling] = [get(demo, top, 'Berth REST'), get(demo, top, 'ceiling')];
    process.stdout.write(`goal demo at c${top}: REST >= 80% of ceiling: ${((100 * rest.rps) / ceiling.rps).toFixed(0)}%: ${met(rest.rps >= 0.8 * ceiling.rps)}\n`);
  }
  for (const m of opts.models) {
    const [rest, grpc, restNode] = [get(m, top, 'Berth REST'), get(m, top, 'Berth gRPC'), get(m, top, 'Berth REST (node)')];
    process.stdout.write(
      `goal ${m.label} at c${top}: gRPC >= 70% of REST: ${((100 * grpc.rps) / rest.rps).toFixed(0)}% ` +
        `(${clients.get(`${m.name}|${top}|Berth gRPC`)} vs ${clients.get(`${m.name}|${top}|Berth REST`)}): ${met(grpc.rps >= 0.7 * rest.rps)}; ` +
        `${((100 * grpc.rps) / restNode.rps).toFixed(0)}% with node clients: ${met(grpc.rps >= 0.7 * restNode.rps)}\n`,
    );
  }
}
