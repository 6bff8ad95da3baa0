import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

export interface LoadResult {
  rps: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  errors: number;
}

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Prints rows as an aligned table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const w = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padStart(w[i] ?? 0)).join(' | ')} |`;
  return [line(headers), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

export const hasWrk = () => spawnSync('wrk', ['--version']).error === undefined;

/** Whether nghttp2's h2load (Debian: nghttp2-client) is installed. */
export const hasH2load = () => spawnSync('h2load', ['--version']).error === undefined;

const WRK_SCRIPT = `
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
`;

/** Drives a POST endpoint at a fixed concurrency (wrk when installed: µs resolution; autocannon otherwise). */
export async function load(url: string, body: string, connections: number, seconds: number): Promise<LoadResult> {
  if (hasWrk()) {
    const script = join(tmpdir(), 'berth-bench.lua');
    writeFileSync(script, WRK_SCRIPT);
    const r = spawnSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', script, url], {
      env: { ...process.env, BENCH_BODY: body },
      encoding: 'utf8',
    });
    const m = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(r.stdout);
    if (!m) throw new Error(`wrk failed: ${r.stderr || r.stdout}`);
    const [, n, durUs, p50, p95, p99, errs] = m.map(Number) as number[];
    return { rps: (n as number) / ((durUs as number) / 1e6), p50Ms: (p50 as number) / 1000, p95Ms: (p95 as number) / 1000, p99Ms: (p99 as number) / 1000, errors: errs as number };
  }
  const r = await autocannon({ url, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections, duration: seconds });
  return { rps: r.requests.average, p50Ms: r.latency.p50, p95Ms: r.latency.p97_5, p99Ms: r.latency.p99, errors: r.errors + r.non2xx };
}

/** Starts a child process and waits for output matching `ready` (null: returns at once). */
export function startProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv, ready: RegExp | null): Promise<{ child: ChildProcess; match: RegExpExecArray | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    if (!ready) return resolve({ child, match: null });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, match: m });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${cmd} exited (${code}) before it was ready:\n${out}`)));
  });
}

/** A loopback port that is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Polls `url` until it answers 2xx (20 s at most). */
export async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never became ready`);
}

/** Keeps `concurrency` calls of `send` in flight for `seconds` (a closed loop in this process); failed calls count as errors. */
export async function closedLoop(send: () => Promise<void>, concurrency: number, seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await send();
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  return { rps: latencies.length / elapsed, p50Ms: pct(0.5), p95Ms: pct(0.95), p99Ms: pct(0.99), errors };
}

/** Stops a child process and waits until it has exited. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * A lean gRPC unary caller over one HTTP/2 connection (node:http2): the request message is encoded
 * once and each call sends the same bytes and only checks `grpc-status`, as wrk does for REST, so
 * the load tool's own cost stays small next to the server's. Calls multiplex as concurrent streams.
 */
export function grpcUnary(authority: string, path: string, message: Uint8Array): { call(): Promise<void>; close(): void } {
  const session = http2.connect(authority);
  session.on('error', () => {});
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  const headers = { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' };
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const stream = session.request(headers, { endStream: false });
      let status: string | undefined;
      stream.on('response', (h) => {
        if (h['grpc-status'] !== undefined) status = String(h['grpc-status']); // trailers-only answer
      });
      stream.on('trailers', (t) => {
        status = String(t['grpc-status']);
      });
      stream.on('data', () => {});
      stream.on('error', reject);
      stream.on('close', () => (status === '0' ? resolve() : reject(new Error(`grpc-status ${status}`))));
      stream.end(frame);
    });
  return { call, close: () => session.close() };
}

/** One gRPC unary call (`frame` is the length-prefixed message); resolves with the bytes of its response frame, rejects unless grpc-status is 0. */
export function grpcCheck(authority: string, path: string, frame: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(authority);
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
    let bytes = 0;
    let status: string | undefined;
    let message: string | undefined;
    const onStatus = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] === undefined) return;
      status = String(h['grpc-status']);
      message = h['grpc-message'] === undefined ? undefined : decodeURIComponent(String(h['grpc-message']));
    };
    stream.on('response', onStatus);
    stream.on('trailers', onStatus);
    stream.on('data', (d: Buffer) => {
      bytes += d.length;
    });
    stream.on('error', reject);
    stream.on('close', () => {
      session.close();
      if (status === '0') resolve(bytes);
      else reject(new Error(`gRPC call failed: grpc-status ${status}${message ? ` (${message})` : ''}`));
    });
    stream.end(frame);
  });
}

/** gRPC load shape: `concurrency` = connections x streams per connection, at most `maxStreams` streams on one connection. */
export function grpcShape(concurrency: number, maxStreams: number): { connections: number; streams: number } {
  const streams = Math.max(1, Math.min(concurrency, maxStreams));
  return { connections: Math.max(1, Math.round(concurrency / streams)), streams };
}

/**
 * Drives a gRPC unary method with h2load (nghttp2): `connections` HTTP/2 connections with `streams`
 * concurrent streams each, every stream POSTing the same prebuilt frame. h2load knows HTTP, not gRPC:
 * a failed call is an HTTP 200 whose trailers say grpc-status != 0, and it counts it as succeeded. A
 * failed call carries no DATA frame, though, and every good answer to the same request is the same
 * `responseBytes` long (measured by a checked call first), so the DATA bytes h2load received tell how
 * many calls really succeeded: the shortfall is counted as errors.
 */
export function h2loadGrpc(opts: {
  url: string;
  frame: Buffer;
  responseBytes: number;
  connections: number;
  streams: number;
  seconds: number;
}): LoadResult {
  const dir = mkdtempSync(join(tmpdir(), 'berth-h2load-'));
  try {
    const data = join(dir, 'request.bin');
    const log = join(dir, 'requests.tsv');
    writeFileSync(data, opts.frame);
    const args = ['-t1', `-c${opts.connections}`, `-m${opts.streams}`, `-D${opts.seconds}`, '-d', data];
    args.push('-H', 'content-type: application/grpc', '-H', 'te: trailers', '--log-file', log, opts.url);
    const r = spawnSync('h2load', args, { encoding: 'utf8' });
    const num = (re: RegExp) => {
      const m = re.exec(r.stdout);
      if (!m) throw new Error(`h2load output not understood (${re}): ${r.stderr || r.stdout}`);
      return Number(m[1]);
    };
    const rps = num(/finished in [\d.]+m?s, ([\d.]+) req\/s/);
    const done = num(/requests: \d+ total, \d+ started, (\d+) done/);
    const httpErrors = num(/(\d+) failed/) + num(/(\d+) errored/) + num(/(\d+) timeout/);
    const non2xx = num(/(\d+) 3xx/) + num(/(\d+) 4xx/) + num(/(\d+) 5xx/);
    const dataBytes = num(/traffic: .*\((\d+)\) data/);
    // Calls still in flight when time ran out may have delivered their DATA uncounted: hence min.
    const answered = Math.min(done, Math.floor(dataBytes / opts.responseBytes));
    const micros = readFileSync(log, 'utf8')
      .split('\n')
      .filter((line) => line.split('\t')[1] === '200')
      .map((line) => Number(line.split('\t')[2]))
      .sort((a, b) => a - b);
    const pct = (p: number) => (micros[Math.min(micros.length - 1, Math.floor(p * micros.length))] ?? 0) / 1000;
    return { rps, p50Ms: pct(0.5), p95Ms: pct(0.95), p99Ms: pct(0.99), errors: httpErrors + non2xx + (done - answered) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A lean HTTP/1.1 keep-alive POST caller (node:http) sending the same body each time. */
export function httpPost(url: string, body: string, connections: number): { call(): Promise<void>; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const bytes = Buffer.from(body);
  const u = new URL(url);
  const opts = { agent, method: 'POST', host: u.hostname, port: u.port, path: u.pathname, headers: { 'content-type': 'application/json', 'content-length': bytes.length } };
  const call = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(opts, (res) => {
        res.on('data', () => {});
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(bytes);
    });
  return { call, close: () => agent.destroy() };
}
