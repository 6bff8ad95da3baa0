// npm run bench -- monitoring [--rows N] [--runs R] [--only-log] [--per-call 1|64]: per-row cost of live monitoring (observer, queue,
// window summaries; then with the SQLite prediction log too), the cost of a drift query, the log's size on
// disk and the time to find 1,000 request ids in it (the feedback join for ids no longer in memory).
import { readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCore } from '../src/core.js';
import { buildWeatherDemo, loadSeattleWeather, splitByYear } from '../src/demo/index.js';
import { Monitoring } from '../src/monitor/index.js';
import { PredictionStore } from '../src/monitor/logging/store.js';
import type { Tensor } from '../src/protocol/index.js';
import type { InferenceEvent } from '../src/serving/index.js';
import { median, table } from './lib.js';

function arg(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

/** Events as the inference path hands them over: decoded request tensors and the model's outputs. */
function events(rows: number[][], perCall: number, count: number, shift: number): InferenceEvent[] {
  const out: InferenceEvent[] = [];
  const classes = ['drizzle', 'fog', 'rain', 'snow', 'sun'];
  const now = Date.now();
  for (let c = 0; c < count; c++) {
    const data = new Float32Array(perCall * 4);
    const labels: string[] = [];
    const probs = new Float32Array(perCall * 5);
    for (let i = 0; i < perCall; i++) {
      const r = rows[(c * perCall + i) % rows.length] as number[];
      data.set([r[0] as number, (r[1] as number) + shift, (r[2] as number) + shift, r[3] as number], i * 4);
      const k = (c + i) % 5;
      labels.push(classes[k] as string);
      probs[i * 5 + k] = 1;
    }
    const features: Tensor = { name: 'features', datatype: 'FP32', shape: [perCall, 4], data };
    out.push({
      model: 'weather',
      version: 1,
      requestId: `req-${c}`,
      status: 200,
      seconds: 0.0003,
      time: now,
      request: { inputs: [features] },
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [perCall, 5], data: probs },
        { name: 'label', datatype: 'BYTES', shape: [perCall], data: labels },
      ],
      route: undefined,
      error: undefined,
    });
  }
  return out;
}

/** Monitoring benchmark: median per-row microseconds over several runs, and a drift query's time. */
export async function monitoringBench(args: string[]): Promise<void> {
  const totalRows = arg(args, '--rows', 200_000);
  const runs = arg(args, '--runs', 5);
  const home = await mkdtemp(join(tmpdir(), 'berth-bench-monitoring-'));
  const core = await openCore({ home });
  try {
    const demo = await buildWeatherDemo(join(home, 'demo'));
    await core.registry.register('weather', { path: demo.modelPath }, { reference: { path: demo.referencePath, labelColumn: 'weather' } });
    const rows = splitByYear(await loadSeattleWeather()).live.map((r) => [...r.features]);
    const results: (string | number)[][] = [];
    for (const [label, perCall, log] of [
      ['1-row calls, summaries only', 1, false],
      ['64-row calls, summaries only', 64, false],
      ['1-row calls, + SQLite log', 1, true],
      ['64-row calls, + SQLite log', 64, true],
    ] as const) {
      if (args.includes('--only-log') && !log) continue;
      if (args.includes('--per-call') && arg(args, '--per-call', perCall) !== perCall) continue;
      const observeNs: number[] = [];
      const perRowUs: number[] = [];
      const bytesPerRow: number[] = [];
      const lookupMs: number[] = [];
      let queryMs = 0;
      for (let run = 0; run < runs; run++) {
        const calls = Math.ceil(totalRows / perCall);
        const evs = events(rows, perCall, calls, run % 2 === 0 ? 0 : 5);
        const runHome = join(home, `run-${label.length}-${run}`);
        const m = new Monitoring({ home: runHome, registry: core.registry, predictionLog: log, queueRows: 10_000_000, flushMs: 3_600_000 });
        await m.stateFor('weather', 1);
        // CPU time of this process, not wall time: the machine is shared, and CPU is what monitoring costs
        const c0 = process.cpuUsage();
        for (const e of evs) m.observe(e);
        const c1 = process.cpuUsage(c0);
        await m.flush();
        const c2 = process.cpuUsage(c0);
        observeNs.push(((c1.user + c1.system) * 1000) / calls);
        perRowUs.push((c2.user + c2.system) / (calls * perCall));
        await m.drift('weather', { version: '1' }); // the first query reads the reference once
        const q0 = performance.now();
        await m.drift('weather', { version: '1' });
        queryMs = Math.max(queryMs, performance.now() - q0);
        await m.close();
        if (log) {
          const dir = join(runHome, 'predictions');
          bytesPerRow.push(readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0) / (calls * perCall));
          // the feedback join for ids no longer in memory: one pass over the day's page hashes
          const store = new PredictionStore(dir);
          const ids = Array.from({ length: 1000 }, (_, i) => `req-${Math.floor((i * calls) / 1000)}`);
          const l0 = performance.now();
          const found = store.findRequests(ids);
          lookupMs.push(performance.now() - l0);
          store.close();
          if (found.size !== ids.length) throw new Error(`found ${found.size} of ${ids.length} request ids in the log`);
        }
      }
      results.push([
        label,
        median(observeNs).toFixed(0),
        median(perRowUs).toFixed(3),
        median(perRowUs) < 5 ? 'yes' : 'NO',
        queryMs.toFixed(1),
        log ? median(bytesPerRow).toFixed(0) : '-',
        log ? median(lookupMs).toFixed(0) : '-',
      ]);
    }
    process.stdout.write(
      `live monitoring, ${totalRows} rows per run, median of ${runs} runs (node ${process.version})\n` +
        `${table(['configuration', 'observe() CPU ns/call', 'CPU µs per logged row', '< 5 µs', 'drift query ms (max)', 'log bytes/row', '1,000-id lookup ms'], results)}\n`,
    );
  } finally {
    await core.close();
    await rm(home, { recursive: true, force: true });
  }
}
