// npm run bench -- feature-serving [--requests 2000] [--rounds 3] [--drivers 1000]
// Inference of a model that reads a feature service (50 features from 5 views, SQLite online store)
// against the same model given its input directly, over HTTP at concurrency 1 in one process; and in
// process, the enrichment step against the bare online read it wraps.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { openCore } from '../src/core.js';
import { openFeatureStore } from '../src/features/index.js';
import { buildModel } from '../src/onnx/index.js';
import type { InferRequest } from '../src/protocol/index.js';
import { startServer } from '../src/server.js';
import { enrichWithFeatures } from '../src/serving/features.js';
import { median, table } from './lib.js';

const VIEWS = 5;
const PER_VIEW = 10;
const K = VIEWS * PER_VIEW;

function writeRepo(dir: string, drivers: number): string {
  const cols = Array.from({ length: K }, (_, k) => `f${k}`);
  const lines = [`driver_id,event_timestamp,${cols.join(',')}`];
  for (let d = 0; d < drivers; d++) lines.push(`${d},2026-01-01 00:00:00,${cols.map((_, k) => ((d * 31 + k * 7) % 100) / 10).join(',')}`);
  writeFileSync(join(dir, 'wide.csv'), `${lines.join('\n')}\n`);
  const views = Array.from({ length: VIEWS }, (_, v) => {
    const feats = Array.from({ length: PER_VIEW }, (_, j) => `      - { name: f${v * PER_VIEW + j}, dtype: float64 }`).join('\n');
    return `  - name: v${v}\n    entities: [driver]\n    source: wide\n    ttl: 0\n    features:\n${feats}`;
  });
  const refs = cols.map((c, k) => `v${Math.floor(k / PER_VIEW)}:${c}`).join(', ');
  const yaml = `entities:\n  - name: driver\n    join_keys: [driver_id]\nsources:\n  - name: wide\n    path: wide.csv\n    timestamp_field: event_timestamp\nfeature_views:\n${views.join('\n')}\nfeature_services:\n  - name: all50\n    features: [${refs}]\n`;
  const file = join(dir, 'features.yaml');
  writeFileSync(file, yaml);
  return file;
}

/** y = x · w for x FP32 [batch, 50]. */
function wideModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', K] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['batch', 1] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    initializers: [{ name: 'w', type: 'float32', dims: [K, 1], data: new Float32Array(K).fill(0.5) }],
    graphName: 'wide',
  });
}

/** Median µs per call of `fn` over `n` sequential calls. */
async function perCall(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const times: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    times[i] = (performance.now() - t) * 1000;
  }
  return median(times);
}

/** Runs the feature-serving benchmark and prints its tables. */
export async function featureServingBench(args: string[]): Promise<void> {
  const opt = (name: string, def: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const requests = opt('requests', 2000);
  const rounds = opt('rounds', 3);
  const drivers = opt('drivers', 1000);
  const home = mkdtempSync(join(tmpdir(), 'berth-bench-fs-'));
  try {
    const core = await openCore({ home });
    const setup = openFeatureStore({ home });
    await setup.apply(writeRepo(home, drivers));
    await setup.materialize(0, Date.parse('2026-01-02T00:00:00Z'));
    await setup.close();
    await core.registry.register('plain', wideModel());
    const scored = await core.registry.register('scored', wideModel(), { tags: { feature_service: 'all50' } });
    const server = await startServer(core, { port: 0, logger: pino({ level: 'silent' }), defaultMetrics: false });
    const store = openFeatureStore({ home });
    try {
      const post = async (path: string, body: string) => {
        const r = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        if (r.status !== 200) throw new Error(`${path}: ${r.status} ${await r.text()}`);
        return r.arrayBuffer();
      };
      const x = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, K], data: Array.from({ length: K }, (_, k) => k / 10) }] });
      const byKey = (i: number) => JSON.stringify({ inputs: [{ name: 'driver_id', datatype: 'INT64', shape: [1], data: [i % drivers] }] });
      const read = (i: number) => JSON.stringify({ feature_service: 'all50', entities: { driver_id: [i % drivers] } });
      const http: Record<string, (i: number) => Promise<unknown>> = {
        'plain model, x given (baseline)': () => post('/v2/models/plain/infer', x),
        'feature model, x given (pass-through)': () => post('/v2/models/scored/infer', x),
        'feature model, driver_id only': (i) => post('/v2/models/scored/infer', byKey(i)),
        'POST /get-online-features alone': (i) => post('/get-online-features', read(i)),
      };
      const request = (ids: number[]): InferRequest => ({
        inputs: [{ name: 'driver_id', datatype: 'INT64', shape: [ids.length], data: BigInt64Array.from(ids.map(BigInt)) }],
      });
      const ids100 = (i: number) => Array.from({ length: 100 }, (_, j) => (i * 100 + j) % drivers);
      const inproc: Record<string, (i: number) => Promise<unknown>> = {
        'getOnlineFeatures, 1 entity (baseline)': (i) => store.getOnlineFeatures({ service: 'all50', entities: { driver_id: [i % drivers] }, fullFeatureNames: true }),
        'enrichWithFeatures, 1 entity': (i) => enrichWithFeatures(store, scored, request([i % drivers])),
        'getOnlineFeatures, 100 entities': (i) => store.getOnlineFeatures({ service: 'all50', entities: { driver_id: ids100(i) }, fullFeatureNames: true }),
        'enrichWithFeatures, 100 entities': (i) => enrichWithFeatures(store, scored, request(ids100(i))),
      };
      const measure = async (cases: Record<string, (i: number) => Promise<unknown>>, n: number) => {
        const results = new Map<string, number[]>(Object.keys(cases).map((k) => [k, []]));
        for (const fn of Object.values(cases)) await perCall(Math.min(200, n), fn); // warm up
        for (let r = 0; r < rounds; r++) {
          for (const [name, fn] of Object.entries(cases)) results.get(name)!.push(await perCall(n, fn));
        }
        return [...results].map(([name, meds]) => [name, median(meds)] as const);
      };
      const print = (title: string, rows: (readonly [string, number])[], baseline: number) => {
        process.stdout.write(`\n${title}\n`);
        process.stdout.write(
          `${table(
            ['case', 'median µs', 'vs baseline'],
            rows.map(([name, us]) => [name, us.toFixed(1), `${(us / baseline).toFixed(2)}x`]),
          )}\n`,
        );
      };
      const httpRows = await measure(http, requests);
      print(`HTTP, one request at a time, ${requests} requests x ${rounds} rounds (median of round medians)`, httpRows, httpRows[0]![1]);
      const inRows = await measure(inproc, requests);
      print('In process: the enrichment step vs the online read it makes', inRows.slice(0, 2), inRows[0]![1]);
      print('', inRows.slice(2), inRows[2]![1]);
    } finally {
      await store.close();
      await server.close();
      await core.close();
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
