// npm run bench -- features [--entities 100000] [--rows 1000000] [--iterations 20000] [--seconds 5] [--redis redis://127.0.0.1:6379]
// Online reads (1 and 100 entities x 50 features from 5 views): Berth's one-round-trip layout read vs
// a per-view baseline (one store read per view and a layout built per request, as Feast does), in
// process on SQLite and Redis, and over HTTP at a fixed 1,000 requests/s. Then historical retrieval
// (ASOF) against a plain scan of the columns it reads, and materialization rows/s with peak RSS.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { compileLayout, entityKey, type FeatureStore, openFeatureStore, parseRefs } from '../src/features/index.js';
import { median, table } from './lib.js';

const ROOT = join(import.meta.dirname, '..');
const VIEWS = 5;
const PER_VIEW = 10;
const ONLINE_ENTITIES = 10_000;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

async function duck(sql: string): Promise<void> {
  const i = await DuckDBInstance.create(':memory:');
  const c = await i.connect();
  try {
    await c.run(sql);
  } finally {
    c.closeSync();
    i.closeSync();
  }
}

function wideRepo(dir: string): string {
  const views = Array.from({ length: VIEWS }, (_, v) => {
    const feats = Array.from({ length: PER_VIEW }, (_, j) => `      - { name: f${v * PER_VIEW + j}, dtype: float64 }`).join('\n');
    return `  - name: v${v}\n    entities: [driver]\n    source: wide\n    ttl: 0\n    features:\n${feats}`;
  });
  const all = Array.from({ length: VIEWS * PER_VIEW }, (_, k) => `v${Math.floor(k / PER_VIEW)}:f${k}`).join(', ');
  const yaml = `entities:\n  - name: driver\n    join_keys: [driver_id]\nsources:\n  - name: wide\n    path: wide.parquet\n    timestamp_field: event_timestamp\n  - name: stats\n    path: stats.parquet\n    timestamp_field: event_timestamp\n    created_timestamp_field: created\nfeature_views:\n${views.join('\n')}\n  - name: hourly\n    entities: [driver]\n    source: stats\n    ttl: 2d\n    features:\n      - { name: conv_rate, dtype: float32 }\n      - { name: trips, dtype: int64 }\nfeature_services:\n  - name: all50\n    features: [${all}]\n`;
  const file = join(dir, 'features.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** Latency of `fn` over `n` calls: p50/p99 in µs and calls/s. */
async function timeIt(n: number, fn: () => Promise<unknown>): Promise<{ p50: number; p99: number; rps: number }> {
  for (let i = 0; i < Math.min(1000, n); i++) await fn();
  const lat = new Array<number>(n);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = process.hrtime.bigint();
    await fn();
    lat[i] = Number(process.hrtime.bigint() - s) / 1000;
  }
  const total = Number(process.hrtime.bigint() - t0) / 1e9;
  return { p50: pct(lat, 50), p99: pct(lat, 99), rps: n / total };
}

/** Berth's read vs the per-view baseline, for 1 and 100 entities. */
async function onlineRows(store: FeatureStore, label: string, iterations: number): Promise<(string | number)[][]> {
  const rows: (string | number)[][] = [];
  const features = Array.from({ length: VIEWS * PER_VIEW }, (_, k) => `v${Math.floor(k / PER_VIEW)}:f${k}`);
  for (const n of [1, 100]) {
    const ids = () => Array.from({ length: n }, () => Math.floor(Math.random() * ONLINE_ENTITIES));
    const iters = n === 1 ? iterations : Math.max(500, Math.floor(iterations / 20));
    const ours = await timeIt(iters, () => store.getOnlineFeatures({ service: 'all50', entities: { driver_id: ids() } }));
    // baseline: one store round trip per view and the feature list resolved on every request
    const baseline = await timeIt(iters, async () => {
      const e = ids();
      const layout = compileLayout(store.definitions(), parseRefs(features, 'features'), false);
      const out: unknown[] = [];
      for (const g of layout.groups) {
        const recs = await store.online.read(e.map((id) => ({ view: g.view.name, key: entityKey([id]) })));
        for (const r of recs) if (r) out.push(JSON.parse(r.values));
      }
      return out;
    });
    const us = (x: number) => x.toFixed(1);
    rows.push([`${label} in-process, ${n} x 50 from 5 views`, us(baseline.p50), us(baseline.p99), us(ours.p50), us(ours.p99), Math.round(ours.rps), (baseline.p99 / ours.p99).toFixed(2)]);
  }
  return rows;
}

/** Open-loop load at a fixed rate over keep-alive connections; latency per request in µs. */
async function fixedRate(url: string, body: string, rate: number, seconds: number): Promise<{ p50: number; p99: number; rps: number; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const lat: number[] = [];
  let errors = 0;
  let sent = 0;
  let done = 0;
  const start = process.hrtime.bigint();
  const one = () => {
    const s = process.hrtime.bigint();
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) errors++;
        lat.push(Number(process.hrtime.bigint() - s) / 1000);
        done++;
      });
    });
    req.on('error', () => {
      errors++;
      done++;
    });
    req.end(body);
  };
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
      if (elapsed >= seconds) {
        clearInterval(timer);
        const wait = setInterval(() => {
          if (done >= sent) {
            clearInterval(wait);
            resolve();
          }
        }, 5);
        return;
      }
      const due = Math.floor(elapsed * rate);
      while (sent < due) {
        sent++;
        one();
      }
    }, 1);
  });
  agent.destroy();
  return { p50: pct(lat, 50), p99: pct(lat, 99), rps: lat.length / seconds, errors };
}

/** A feature server in its own process (so the load generator does not share its event loop). */
async function startFeatureServer(home: string, online: string | undefined): Promise<{ url: string; stop(): void }> {
  const script = join(home, 'server.mts');
  writeFileSync(
    script,
    `import Fastify from ${JSON.stringify(createRequire(import.meta.url).resolve('fastify'))};
import { featuresPlugin } from ${JSON.stringify(join(ROOT, 'src', 'features', 'index.ts'))};
const app = Fastify();
await app.register(featuresPlugin, { home: ${JSON.stringify(home)}, onlineStore: ${JSON.stringify(online ?? '')} });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log('LISTENING ' + url);`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /LISTENING (\S+)/.exec(d.toString());
      if (m) resolve(m[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`feature server exited with ${code}`)));
  });
  return { url, stop: () => child.kill() };
}

/** Runs the features benchmark and prints its tables. */
export async function featuresBench(args: string[]): Promise<void> {
  const opt = (name: string, def: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? (args[i + 1] as string) : def;
  };
  const entities = Number(opt('entities', '100000'));
  const rows = Number(opt('rows', '1000000'));
  const iterations = Number(opt('iterations', '20000'));
  const seconds = Number(opt('seconds', '5'));
  const redisUrl = opt('redis', process.env.BERTH_TEST_REDIS_URL ?? '');
  const dir = mkdtempSync(join(tmpdir(), 'berth-fbench-'));
  try {
    const drivers = Math.max(1, Math.floor(rows / 100));
    process.stderr.write(`generating ${rows} feature rows (${drivers} drivers), ${entities} entity rows, ${ONLINE_ENTITIES} wide entities...\n`);
    const wideCols = Array.from({ length: VIEWS * PER_VIEW }, (_, k) => `random() AS f${k}`).join(', ');
    await duck(`COPY (SELECT i AS driver_id, TIMESTAMP '2026-01-01' AS event_timestamp, ${wideCols} FROM range(${ONLINE_ENTITIES}) t(i)) TO '${join(dir, 'wide.parquet')}' (FORMAT parquet)`);
    await duck(
      `COPY (SELECT (i % ${drivers})::BIGINT AS driver_id, TIMESTAMP '2026-01-01' + to_seconds((hash(i) % 2592000)::BIGINT) AS event_timestamp,
        TIMESTAMP '2026-01-01' + to_seconds((hash(i) % 2592000)::BIGINT + (hash(i * 7) % 60)::BIGINT) AS created,
        random()::FLOAT AS conv_rate, (hash(i * 3) % 100)::BIGINT AS trips FROM range(${rows}) t(i)) TO '${join(dir, 'stats.parquet')}' (FORMAT parquet)`,
    );
    await duck(
      `COPY (SELECT (hash(i * 11) % ${drivers})::BIGINT AS driver_id, TIMESTAMP '2026-01-01' + to_seconds((hash(i * 13) % 2592000)::BIGINT) AS event_timestamp
        FROM range(${entities}) t(i)) TO '${join(dir, 'entities.parquet')}' (FORMAT parquet)`,
    );
    const file = wideRepo(dir);
    const homes: { label: string; home: string; online?: string }[] = [{ label: 'SQLite', home: join(dir, 'home-sqlite') }];
    if (redisUrl) homes.push({ label: 'Redis', home: join(dir, 'home-redis'), online: `${redisUrl}?prefix=berth-bench-${process.pid}` });
    else process.stderr.write('Redis rows skipped: pass --redis URL or set BERTH_TEST_REDIS_URL\n');

    const onlineTable: (string | number)[][] = [];
    const httpTable: (string | number)[][] = [];
    for (const h of homes) {
      const store = openFeatureStore({ home: h.home, onlineStore: h.online });
      try {
        await store.apply(file);
        await store.materialize(0, Date.now(), { views: Array.from({ length: VIEWS }, (_, v) => `v${v}`) });
        onlineTable.push(...(await onlineRows(store, h.label, iterations)));
        const server = await startFeatureServer(h.home, h.online);
        try {
          for (const n of [1, 100]) {
            const ids = Array.from({ length: n }, (_, i) => (i * 97) % ONLINE_ENTITIES);
            const body = JSON.stringify({ feature_service: 'all50', entities: { driver_id: ids } });
            const rate = n === 1 ? 1000 : 200;
            await fixedRate(`${server.url}/get-online-features`, body, rate, 1);
            const r = await fixedRate(`${server.url}/get-online-features`, body, rate, seconds);
            httpTable.push([`${h.label} HTTP, ${n} x 50 from 5 views`, rate, (r.p50 / 1000).toFixed(3), (r.p99 / 1000).toFixed(3), Math.round(r.rps), r.errors]);
          }
        } finally {
          server.stop();
        }
        for (let v = 0; v < VIEWS; v++) await store.online.deleteView(`v${v}`);
      } finally {
        await store.close();
      }
    }
    process.stdout.write(`\nOnline reads in process (µs; baseline = one store read per view + feature list resolved per request)\n`);
    process.stdout.write(`${table(['case', 'baseline p50', 'baseline p99', 'berth p50', 'berth p99', 'berth req/s', 'p99 ratio'], onlineTable)}\n`);
    process.stdout.write(`\nOnline reads over HTTP at a fixed rate (ms, client in another process; Feast Go server publishes p99 4.3 ms for 50 features / 5 views)\n`);
    process.stdout.write(`${table(['case', 'target req/s', 'p50 ms', 'p99 ms', 'req/s', 'errors'], httpTable)}\n`);

    // offline: historical retrieval vs a plain scan of the same two files
    const store = openFeatureStore({ home: join(dir, 'home-sqlite') });
    try {
      const scans: number[] = [];
      const hist: number[] = [];
      for (let round = 0; round < 2; round++) {
        let t = performance.now();
        // baseline: read every column the join reads from both files (no join)
        await duck(
          `SELECT max(driver_id), max(event_timestamp), max(created), sum(conv_rate), sum(trips) FROM read_parquet('${join(dir, 'stats.parquet')}');
           SELECT max(driver_id), max(event_timestamp) FROM read_parquet('${join(dir, 'entities.parquet')}')`,
        );
        scans.push(performance.now() - t);
        t = performance.now();
        await store.historical({ entities: join(dir, 'entities.parquet'), features: ['hourly:conv_rate', 'hourly:trips'], output: join(dir, 'train.parquet') });
        hist.push(performance.now() - t);
      }
      // materialization in a child process, for its peak RSS
      const mat = spawnSync('/usr/bin/time', ['-f', 'MAXRSS %M', process.execPath, join(ROOT, 'dist', 'cli', 'main.js'), '--home', join(dir, 'home-sqlite'), 'features', 'materialize', '--views', 'hourly', '--start', '2025-01-01T00:00:00Z', '--end', '2027-01-01T00:00:00Z', '--json'], {
        encoding: 'utf8',
      });
      const rss = /MAXRSS (\d+)/.exec(mat.stderr)?.[1];
      const report = mat.status === 0 ? (JSON.parse(mat.stdout) as { rows: number; ms: number }[])[0] : undefined;
      const offline: (string | number)[][] = [
        [`historical: ${entities} entity rows x ${rows} feature rows`, `${median(scans).toFixed(0)} ms (scan)`, `${median(hist).toFixed(0)} ms`, Math.round(entities / (median(hist) / 1000)), (median(hist) / median(scans)).toFixed(1)],
        [
          `materialize: ${rows} source rows -> ${report?.rows ?? '?'} entities`,
          '-',
          `${report?.ms ?? '?'} ms, peak RSS ${rss ? `${(Number(rss) / 1024).toFixed(0)} MiB` : '?'}`,
          report ? Math.round(rows / (report.ms / 1000)) : '?',
          '-',
        ],
      ];
      process.stdout.write(`\nOffline (DuckDB)\n`);
      process.stdout.write(`${table(['case', 'baseline', 'berth', 'rows/s', 'ratio to baseline'], offline)}\n`);
      if (mat.status !== 0) process.stderr.write(`materialize failed: ${mat.stderr}\n`);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
