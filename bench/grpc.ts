// npm run bench -- grpc [--seconds 3] [--rounds 3]
// The same inference on the demo model through each wire format Berth speaks: V2 REST JSON (baseline),
// Triton binary tensor data over REST, gRPC typed contents and gRPC raw contents. One Berth process
// serves both ports; the load comes from closed-loop clients in this process (fetch for REST,
// @grpc/grpc-js for gRPC), at concurrency 1 and 16, for 1-row and 256-row requests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { inferenceService } from '../src/serving/grpc/index.js';
import { freePort, median, startProcess, table, waitReady } from './lib.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

type Send = () => Promise<void>;

interface Run {
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

/** Keeps `concurrency` requests in flight for `seconds`; returns throughput and latency percentiles. */
async function closedLoop(send: Send, concurrency: number, seconds: number): Promise<Run> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await send();
      latencies.push(performance.now() - t0);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { rps: latencies.length / elapsed, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

function features(rows: number): number[] {
  return Array.from({ length: rows * 4 }, (_, i) => [0.3, 12.8, 5.0, 4.7][i % 4]! + (i % 7) * 0.1);
}

function grpcCall(client: Client, request: object): Promise<void> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (r: object, m: Metadata, cb: (e: ServiceError | null) => void) => void>).ModelInfer!;
    fn.call(client, request, new Metadata(), (e) => (e ? reject(e) : resolve()));
  });
}

/** The four senders for one request size. */
function senders(restUrl: string, client: Client, rows: number): Record<string, Send> {
  const data = features(rows);
  const shape = [rows, 4];
  const json = JSON.stringify({ inputs: [{ name: 'features', shape, datatype: 'FP32', data }] });
  const raw = Buffer.from(new Float32Array(data).buffer);
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'features', shape, datatype: 'FP32', parameters: { binary_data_size: raw.length } }],
      outputs: [{ name: 'probabilities', parameters: { binary_data: true } }, { name: 'label' }],
    }),
  );
  const binaryBody = Buffer.concat([header, raw]);
  const post = async (body: string | Buffer, headers: Record<string, string>) => {
    const res = await fetch(`${restUrl}/v2/models/weather/infer`, { method: 'POST', body, headers });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`REST infer failed: ${res.status}`);
  };
  return {
    'REST JSON': () => post(json, { 'content-type': 'application/json' }),
    'REST Triton binary': () => post(binaryBody, { 'inference-header-content-length': String(header.length) }),
    'gRPC typed contents': () =>
      grpcCall(client, {
        model_name: 'weather',
        inputs: [{ name: 'features', datatype: 'FP32', shape, contents: { fp32_contents: data } }],
      }),
    'gRPC raw contents': () =>
      grpcCall(client, {
        model_name: 'weather',
        inputs: [{ name: 'features', datatype: 'FP32', shape }],
        raw_input_contents: [raw],
      }),
  };
}

/** Runs the wire-format benchmark and prints its table. */
export async function grpcBench(args: string[]): Promise<void> {
  const opt = (name: string, def: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const seconds = opt('seconds', 3);
  const rounds = opt('rounds', 3);
  const home = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  let child: { kill(): void } | undefined;
  let client: Client | undefined;
  try {
    const reg = spawnSync(process.execPath, [CLI, '--home', home, 'demo', '--no-serve'], { encoding: 'utf8' });
    if (reg.status !== 0) throw new Error(`demo registration failed: ${reg.stderr}`);
    const [port, grpcPort] = [await freePort(), await freePort()];
    const berth = await startProcess(
      process.execPath,
      [CLI, '--home', home, 'serve', '--port', String(port), '--grpc-port', String(grpcPort), '--log-level', 'warn'],
      {},
      null,
    );
    child = berth.child;
    const restUrl = `http://127.0.0.1:${port}`;
    await waitReady(`${restUrl}/v2/models/weather/ready`);
    client = new (inferenceService())(`127.0.0.1:${grpcPort}`, credentials.createInsecure());

    process.stdout.write(`closed-loop clients in the bench process; ${rounds} rounds x ${seconds}s per cell; medians shown\n`);
    const rows: (string | number)[][] = [];
    for (const size of [1, 256]) {
      const send = senders(restUrl, client, size);
      for (const s of Object.values(send)) await closedLoop(s, 8, 1); // warm-up, and fail fast on errors
      for (const c of [1, 16]) {
        const results = new Map<string, Run[]>();
        for (let r = 0; r < rounds; r++) {
          for (const [name, s] of Object.entries(send)) results.set(name, [...(results.get(name) ?? []), await closedLoop(s, c, seconds)]);
        }
        const base = median((results.get('REST JSON') ?? []).map((x) => x.rps));
        for (const [name, rs] of results) {
          const rps = median(rs.map((x) => x.rps));
          rows.push([
            size,
            c,
            name,
            Math.round(rps),
            median(rs.map((x) => x.p50Ms)).toFixed(3),
            median(rs.map((x) => x.p99Ms)).toFixed(3),
            `${((100 * rps) / base).toFixed(1)}%`,
          ]);
        }
      }
    }
    process.stdout.write(`${table(['rows', 'conc', 'wire format', 'req/s', 'p50 ms', 'p99 ms', 'vs REST JSON'], rows)}\n`);
  } finally {
    client?.close();
    child?.kill();
    rmSync(home, { recursive: true, force: true });
  }
}
