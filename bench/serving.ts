// npm run bench -- serving [--seconds 5] [--rounds 3]
// Berth's V2 REST inference on the demo model vs a bare Fastify route returning fixed JSON (the ceiling),
// both in their own process, driven in the same run at concurrency 1, 16 and 64.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, hasWrk, load, type LoadResult, median, startProcess, table, waitReady } from './lib.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

/** Runs the serving benchmark and prints its table. */
export async function servingBench(args: string[]): Promise<void> {
  const opt = (name: string, def: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const seconds = opt('seconds', 5);
  const rounds = opt('rounds', 3);
  const concurrencies = [1, 16, 64];
  const home = mkdtempSync(join(tmpdir(), 'berth-bench-'));
  const children: { kill(): void }[] = [];
  try {
    const reg = spawnSync(process.execPath, [CLI, '--home', home, 'demo', '--no-serve'], { encoding: 'utf8' });
    if (reg.status !== 0) throw new Error(`demo registration failed: ${reg.stderr}`);
    const berthPort = await freePort();
    const berth = await startProcess(
      process.execPath,
      [CLI, '--home', home, 'serve', '--port', String(berthPort), '--log-level', 'warn'],
      {},
      null,
    );
    children.push(berth.child);
    await waitReady(`http://127.0.0.1:${berthPort}/v2/models/weather/ready`);
    const ceilingPort = await freePort();
    const ceiling = await startProcess(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'ceiling.ts')],
      { PORT: String(ceilingPort) },
      /LISTENING (\d+)/,
    );
    children.push(ceiling.child);

    const body = JSON.stringify({
      inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [[0.3, 12.8, 5.0, 4.7]] }],
    });
    const targets = {
      'fastify fixed JSON (ceiling)': `http://127.0.0.1:${ceilingPort}/infer`,
      'berth /v2 infer (weather)': `http://127.0.0.1:${berthPort}/v2/models/weather/infer`,
    };
    const check = await fetch(targets['berth /v2 infer (weather)'], { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    if (!check.ok) throw new Error(`berth infer failed: ${check.status} ${await check.text()}`);

    process.stdout.write(`load generator: ${hasWrk() ? 'wrk (1 thread)' : 'autocannon'}; ${rounds} rounds x ${seconds}s per cell; medians shown\n`);
    for (const url of Object.values(targets)) await load(url, body, 16, 2); // warm-up
    const results = new Map<string, LoadResult[]>();
    for (let r = 0; r < rounds; r++) {
      for (const c of concurrencies) {
        for (const [name, url] of Object.entries(targets)) {
          const key = `${c}|${name}`;
          const res = await load(url, body, c, seconds);
          results.set(key, [...(results.get(key) ?? []), res]);
        }
      }
    }
    const rows: (string | number)[][] = [];
    const summary: Record<string, { rps: number; p99: number }> = {};
    for (const c of concurrencies) {
      const ceilingRps = median((results.get(`${c}|fastify fixed JSON (ceiling)`) ?? []).map((x) => x.rps));
      for (const name of Object.keys(targets)) {
        const rs = results.get(`${c}|${name}`) ?? [];
        const rps = median(rs.map((x) => x.rps));
        const p99 = median(rs.map((x) => x.p99Ms));
        summary[`${c}|${name}`] = { rps, p99 };
        rows.push([
          c,
          name,
          Math.round(rps),
          median(rs.map((x) => x.p50Ms)).toFixed(3),
          median(rs.map((x) => x.p95Ms)).toFixed(3),
          p99.toFixed(3),
          rs.reduce((a, x) => a + x.errors, 0),
          `${((100 * rps) / ceilingRps).toFixed(1)}%`,
        ]);
      }
    }
    process.stdout.write(`${table(['conc', 'target', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'vs ceiling'], rows)}\n`);
    const b16 = summary['16|berth /v2 infer (weather)'];
    const b64 = summary['64|berth /v2 infer (weather)'];
    const c64 = summary['64|fastify fixed JSON (ceiling)'];
    if (b16 && b64 && c64) {
      process.stdout.write(
        `goal p99 < 5 ms at concurrency 16: ${b16.p99.toFixed(3)} ms ${b16.p99 < 5 ? 'MET' : 'NOT MET'}\n` +
          `goal throughput at 64 >= 70% of ceiling: ${((100 * b64.rps) / c64.rps).toFixed(1)}% ${b64.rps >= 0.7 * c64.rps ? 'MET' : 'NOT MET'}\n`,
      );
    }
  } finally {
    for (const c of children) c.kill();
    rmSync(home, { recursive: true, force: true });
  }
}
