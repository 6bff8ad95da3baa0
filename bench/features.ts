// npm run bench -- features [--entities 100000] [--rows 1000000] [--iterations 20000] [--seconds 5] [--redis redis://127.0.0.1:6379]
// Online reads (1 and 100 entities x 50 features from 5 views): Berth's one-round-trip layout read vs
// a per-view baseline (one store read per view and a layout built per request, as Feast does), in
// process on SQLite and Redis, and over HTTP at a steady rate (see `steadyLoad`). Then historical
// retrieval (ASOF) against a plain scan of the columns it reads, and materialization rows/s with peak RSS.
//
// HTTP rows: the feature server runs in its own process; wrk (one thread, C) drives it. Each of its
// keep-alive connections waits an exponentially distributed pause before every request, so requests
// arrive as a near-Poisson stream at the target rate (bursts included, as from many independent
// clients), and a slow answer does not hold back the other connections' sends. "p50/p99" is wrk's
// per-request latency, from the request's first byte written to the answer's last byte read: the
// end-to-end time a client sees, network and HTTP parsing included. "server" is the server's own time
// per request (Fastify onRequest to onResponse), to tell server time from client and network time.
// Every case first runs a 3 s closed-loop warm-up (see warmUp) and 1 s at its rate, unmeasured.
// The "HTTP floor" row is the same server answering a precomputed answer of the 1 x 50 size: what
// Node and Fastify alone cost on this machine at that rate.
// Without wrk, a Node client in this process sends at evenly spaced scheduled times and measures from
// the scheduled time (so its own timer lateness counts against the result); the table says which ran.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

interface LoadStats {
  p50: number;
  p99: number;
  rps: number;
  errors: number;
  client: 'wrk' | 'node';
}

const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'].find((p) => existsSync(p));

/**
 * `rate` requests/s of POST `body` for `seconds`; latency per request in µs (see the header comment).
 * `answerUs`, the typical answer time (from a warm-up), shortens wrk's pauses so the rate holds.
 */
async function steadyLoad(dir: string, url: string, body: string, rate: number, seconds: number, answerUs = 0): Promise<LoadStats> {
  return WRK ? wrkLoad(WRK, dir, url, body, rate, seconds, answerUs) : nodeLoad(url, body, rate, seconds);
}

async function wrkLoad(wrk: string, dir: string, url: string, body: string, rate: number, seconds: number, answerUs: number): Promise<LoadStats> {
  // a connection sends about every conns/rate s (40 ms here): far above the answer time, so a
  // connection is rarely still waiting for an answer when its next send is due; its pause (drawn
  // after each answer) is that period less the typical answer time, so the rate holds
  const conns = Math.max(2, Math.min(50, Math.ceil(rate / 25)));
  const meanMs = Math.max(1, (conns / rate) * 1000 - answerUs / 1000);
  const script = join(dir, 'steady.lua');
  writeFileSync(
    script,
    `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[${body}]==]
function delay()
  return math.floor(-math.log(1 - math.random()) * ${meanMs} + 0.5)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK %d %d %d %d %d\\n', summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
`,
  );
  const run = spawnSync(wrk, ['-t1', `-c${conns}`, `-d${seconds}s`, '--timeout', '5s', '-s', script, url], { encoding: 'utf8' });
  const m = /WRK (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(run.stdout);
  if (!m) throw new Error(`wrk failed: ${run.stderr || run.stdout}`);
  const [requests, durationUs, p50, p99, errors] = m.slice(1).map(Number) as [number, number, number, number, number];
  return { p50, p99, rps: requests / (durationUs / 1e6), errors, client: 'wrk' };
}

/**
 * Warm-up before a case is measured: 3 s of closed-loop requests as fast as the server answers (tens of
 * thousands), so that V8 has optimized the request path and SQLite's pages are cached; then the case
 * runs its 1 s warm-up at the target rate. Without it the first seconds of a fresh server (code not yet
 * optimized) dominate the p99 of a 5 s run at 1,000 req/s.
 */
async function warmUp(dir: string, url: string, body: string): Promise<void> {
  if (WRK === undefined) {
    await nodeLoad(url, body, 2000, 3);
    return;
  }
  const script = join(dir, 'warm.lua');
  writeFileSync(script, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[${body}]==]\n`);
  const run = spawnSync(WRK, ['-t1', '-c4', '-d3s', '-s', script, url], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`wrk warm-up failed: ${run.stderr || run.stdout}`);
}

/** Fallback: sends at evenly spaced scheduled times; latency counts from the scheduled time. */
async function nodeLoad(url: string, body: string, rate: number, seconds: number): Promise<LoadStats> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const lat: number[] = [];
  let errors = 0;
  let sent = 0;
  let done = 0;
  const start = process.hrtime.bigint();
  const total = Math.floor(rate * seconds);
  const one = (scheduled: bigint) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) errors++;
        lat.push(Number(process.hrtime.bigint() - scheduled) / 1000);
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
    const tick = () => {
      const now = process.hrtime.bigint();
      while (sent < total) {
        const at = start + BigInt(Math.round((sent / rate) * 1e9));
        if (at > now) break;
        sent++;
        one(at);
      }
      if (sent < total) setTimeout(tick, 0);
      else {
        const wait = setInterval(() => {
          if (done >= sent) {
            clearInterval(wait);
            resolve();
          }
        }, 5);
      }
    };
    tick();
  });
  agent.destroy();
  return { p50: pct(lat, 50), p99: pct(lat, 99), rps: lat.length / seconds, errors, client: 'node' };
}

/**
 * A feature server in its own process (so the load generator does not share its event loop). It also
 * times every request itself; `timing()` returns its p50/p99 in µs since the last call.
 */
async function startFeatureServer(home: string, online: string | undefined): Promise<{ url: string; timing(): Promise<{ p50: number; p99: number }>; stop(): void }> {
  const script = join(home, 'server.mjs');
  writeFileSync(
    script,
    `import Fastify from ${JSON.stringify(createRequire(import.meta.url).resolve('fastify'))};
import { featuresPlugin } from ${JSON.stringify(join(ROOT, 'dist', 'features', 'index.js'))};
const app = Fastify();
const started = new WeakMap();
let times = [];
app.addHook('onRequest', async (req) => { started.set(req, process.hrtime.bigint()); });
app.addHook('onResponse', async (req) => { const t = started.get(req); if (t !== undefined) times.push(Number(process.hrtime.bigint() - t) / 1000); });
// the floor: the same HTTP stack answering a precomputed 1 x 50 answer (no store read, no JSON building)
const FLOOR = JSON.stringify({ metadata: { feature_names: ['driver_id', ...Array.from({ length: 50 }, (_, k) => 'f' + k)] }, results: [{ values: [0], statuses: ['PRESENT'], event_timestamps: ['1970-01-01T00:00:00Z'] }, ...Array.from({ length: 50 }, () => ({ values: [Math.random()], statuses: ['PRESENT'], event_timestamps: ['2026-01-01T00:00:00.000Z'] }))] });
app.post('/bench-floor', async (_req, reply) => reply.type('application/json; charset=utf-8').send(FLOOR));
app.get('/bench-timing', async () => { const s = times.filter((x) => x >= 0).sort((a, b) => a - b); times = []; const at = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0; return { p50: at(0.5), p99: at(0.99) }; });
await app.register(featuresPlugin, { home: ${JSON.stringify(home)}, onlineStore: ${JSON.stringify(online ?? '')} });
const url = await app.listen({ host: '127.0.0.1', port: 0 });
console.log('LISTENING ' + url);`,
  );
  // the built code, as `berth serve` runs it (npm run bench builds first), not TypeScript through tsx
  const child = spawn(process.execPath, [script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /LISTENING (\S+)/.exec(d.toString());
      if (m) resolve(m[1] as string);
    });
    child.on('exit', (code) => reject(new Error(`feature server exited with ${code}`)));
  });
  const timing = () =>
    new Promise<{ p50: number; p99: number }>((resolve, reject) => {
      request(`${url}/bench-timing`, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString();
        });
        res.on('end', () => resolve(JSON.parse(text) as { p50: number; p99: number }));
      })
        .on('error', reject)
        .end();
    });
  return { url, timing, stop: () => child.kill() };
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
          const cases: { label: string; path: string; n: number; rate: number }[] = [1, 100].map((n) => ({
            label: `${h.label} HTTP, ${n} x 50 from 5 views`,
            path: '/get-online-features',
            n,
            rate: n === 1 ? 1000 : 200,
          }));
          if (h === homes[0]) cases.push({ label: 'HTTP floor: a precomputed 1 x 50 answer', path: '/bench-floor', n: 1, rate: 1000 });
          for (const c of cases) {
            const ids = Array.from({ length: c.n }, (_, i) => (i * 97) % ONLINE_ENTITIES);
            const body = JSON.stringify({ feature_service: 'all50', entities: { driver_id: ids } });
            await warmUp(dir, `${server.url}${c.path}`, body);
            const warm = await steadyLoad(dir, `${server.url}${c.path}`, body, c.rate, 1);
            await server.timing();
            const r = await steadyLoad(dir, `${server.url}${c.path}`, body, c.rate, seconds, warm.p50);
            const t = await server.timing();
            const ms = (us: number) => (us / 1000).toFixed(3);
            httpTable.push([`${c.label} (${r.client})`, c.rate, Math.round(r.rps), ms(r.p50), ms(r.p99), ms(t.p50), ms(t.p99), r.errors]);
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
    process.stdout.write(`\nOnline reads over HTTP at a steady rate (ms; end to end as the client sees it, and the server's own time; Feast Go server publishes p99 4.3 ms for 50 features / 5 views)\n`);
    process.stdout.write(`${table(['case', 'target req/s', 'req/s', 'p50 ms', 'p99 ms', 'server p50 ms', 'server p99 ms', 'errors'], httpTable)}\n`);

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
