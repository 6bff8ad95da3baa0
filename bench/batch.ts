// npm run bench -- batch [--rows N] [--runs K] [--large-mb MB] [--batch-size B]: rows/s of `berth batch` with the
// demo model for CSV -> CSV and Parquet -> Parquet on N generated rows, against DuckDB alone copying the same
// columns between the same formats (the I/O ceiling) and ONNX Runtime alone on the same rows (the compute
// ceiling), all measured in this run; then the peak RSS of one run over a generated CSV of about MB megabytes,
// in a child process so that the measurement is that run's alone.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { runBatch } from '../src/batch/index.js';
import { openCore } from '../src/core.js';
import { buildWeatherDemo, FEATURE_NAMES, LABEL_COLUMN } from '../src/demo/index.js';
import { OnnxRuntime } from '../src/runtime/index.js';
import { median, table } from './lib.js';

function argOf(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
}

/** Plausible weather rows: precipitation, temp_max, temp_min, wind. */
function generatorSql(rows: number): string {
  const [p, tmax, tmin, w] = FEATURE_NAMES;
  return `SELECT round(CASE WHEN random() < 0.55 THEN 0 ELSE random() * 30 END, 1) AS "${p}",
    round(5 + random() * 25, 1) AS "${tmax}", round(-3 + random() * 15, 1) AS "${tmin}",
    round(random() * 8, 1) AS "${w}" FROM range(${rows})`;
}

async function generate(dir: string, rows: number): Promise<{ csv: string; parquet: string }> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const csv = join(dir, `in-${rows}.csv`);
  const parquet = join(dir, `in-${rows}.parquet`);
  await conn.run(`COPY (${generatorSql(rows)}) TO '${csv}' (FORMAT csv, HEADER true)`);
  await conn.run(`COPY (SELECT * FROM read_csv('${csv}')) TO '${parquet}' (FORMAT parquet)`);
  conn.closeSync();
  db.closeSync();
  return { csv, parquet };
}

/** DuckDB alone: read the feature columns and write them back out in the same format. */
async function duckCopy(input: string, output: string, format: 'csv' | 'parquet'): Promise<number> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const t0 = performance.now();
  const from = format === 'csv' ? `read_csv('${input}', header = true)` : `read_parquet('${input}')`;
  await conn.run(`COPY (SELECT * FROM ${from}) TO '${output}' (FORMAT ${format}${format === 'csv' ? ', HEADER true' : ''})`);
  const s = (performance.now() - t0) / 1000;
  conn.closeSync();
  db.closeSync();
  return s;
}

/** ONNX Runtime alone: the model over the same number of rows, already in memory, in batches. */
async function ortOnly(modelBytes: Uint8Array, rows: number, batch: number): Promise<number> {
  const model = await new OnnxRuntime().load(modelBytes);
  const data = new Float32Array(batch * 4).map((_, i) => (i % 4) * 3 + 1);
  const t0 = performance.now();
  for (let done = 0; done < rows; done += batch) {
    const n = Math.min(batch, rows - done);
    await model.run([{ name: 'features', datatype: 'FP32', shape: [n, 4], data: data.subarray(0, n * 4) }]);
  }
  const s = (performance.now() - t0) / 1000;
  await model.dispose();
  return s;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Child mode: one batch run, printing its result and peak RSS as JSON. */
async function child(args: string[]): Promise<void> {
  const [home, input, output] = args;
  const core = await openCore({ home });
  const r = await runBatch(core, { model: 'weather', input: input!, output: output! });
  await core.close();
  process.stdout.write(`${JSON.stringify({ rowsPerSec: r.rowsPerSec, rows: r.rowsRead, seconds: r.seconds, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
}

export async function batchBench(args: string[]): Promise<void> {
  if (args[0] === '--child') return child(args.slice(1));
  const rows = argOf(args, '--rows', 1_000_000);
  const runs = argOf(args, '--runs', 3);
  const largeMb = argOf(args, '--large-mb', 256);
  const batchSize = argOf(args, '--batch-size', 8192);
  const dir = await mkdtemp(join(tmpdir(), 'berth-bench-batch-'));
  try {
    const core = await openCore({ home: dir });
    const demo = await buildWeatherDemo(join(dir, 'demo'));
    await core.registry.register('weather', { path: demo.modelPath }, { reference: { path: demo.referencePath, labelColumn: LABEL_COLUMN } });
    const modelBytes = await core.registry.loadArtifact(await core.registry.resolve('weather'));
    const files = await generate(dir, rows);
    const out: (string | number)[][] = [];
    const ortTimes: number[] = [];
    for (let i = 0; i < runs; i++) ortTimes.push(await ortOnly(modelBytes, rows, batchSize));
    for (const format of ['csv', 'parquet'] as const) {
      const input = format === 'csv' ? files.csv : files.parquet;
      const berth: number[] = [];
      const duck: number[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await runBatch(core, { model: 'weather', input, output: join(dir, `out.${format}`), batchSize });
        berth.push(r.seconds);
        duck.push(await duckCopy(input, join(dir, `copy.${format}`), format));
      }
      const b = rows / median(berth);
      const d = rows / median(duck);
      const o = rows / median(ortTimes);
      out.push([`${format} -> ${format}`, fmt(b), fmt(d), (b / d).toFixed(2), fmt(o), (b / o).toFixed(2), b >= 500_000 ? 'yes' : 'no']);
    }
    await core.close();
    process.stdout.write(`batch inference, demo model, ${fmt(rows)} rows, batch size ${batchSize}, median of ${runs} runs\n`);
    process.stdout.write(
      `${table(['path', 'berth rows/s', 'duckdb copy rows/s', 'vs copy', 'ort only rows/s', 'vs ort', '>= 500k'], out)}\n`,
    );

    // Peak RSS over a large CSV, in a child process.
    const largeRows = Math.round((largeMb * 1024 * 1024) / 17.45); // the generated rows average 17.45 bytes
    const large = await generate(dir, largeRows);
    await rm(large.parquet);
    const size = (await stat(large.csv)).size;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'batch-child.ts'), dir, large.csv, join(dir, 'large-out.parquet')],
      { maxBuffer: 1 << 20 },
    );
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as { rowsPerSec: number; rows: number; seconds: number; maxRssKiB: number };
    process.stdout.write(
      `\nlarge CSV -> Parquet: ${(size / 1024 ** 2).toFixed(0)} MiB, ${fmt(r.rows)} rows in ${r.seconds.toFixed(1)} s (${fmt(r.rowsPerSec)} rows/s), peak RSS ${(r.maxRssKiB / 1024).toFixed(0)} MiB\n`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
