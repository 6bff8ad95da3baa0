// npm run bench -- drift [--rows N] [--runs K] [--keep DIR]: a full `auto` drift report on N rows x 20 numerical +
// 5 categorical columns (reference and current each N rows, Parquet), timed as the built CLI runs it
// (`npm run build` first; `npm run bench` does), against DuckDB alone decoding the same columns.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { sortFloat64 } from '../src/stats/drift/index.js';
import { median, table } from './lib.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const NUMERICAL = 20;

/** `berth drift … --json` with the built CLI (worker-thread sorting included), as a user runs it; returns drifted columns. */
async function cliReport(ref: string, cur: string, method: string): Promise<number> {
  const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'drift', '--reference', ref, '--current', cur, '--method', method, '--json'], {
    maxBuffer: 1 << 24,
  });
  return (JSON.parse(stdout) as { drifted_columns: number }).drifted_columns;
}
const CATEGORICAL = 5;

function argOf(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
}

/**
 * Writes a seeded dataset with DuckDB: uniforms come from hash(row, column, seed), so the data is the
 * same on every run and every thread count. `shift` moves half of the numerical columns in the current set.
 */
async function writeDataset(path: string, rows: number, seed: number, shift: number): Promise<void> {
  const u = (k: number): string => `((hash(i, ${k}, ${seed}) % 1000000007) + 0.5) / 1000000007.0`;
  const cols: string[] = [];
  for (let k = 0; k < NUMERICAL; k++) {
    const mu = k % 2 === 0 ? shift : 0;
    // Box–Muller normal, scaled per column so the columns differ.
    cols.push(`${mu} + ${1 + k / 10} * sqrt(-2 * ln(${u(2 * k)})) * cos(2 * pi() * ${u(2 * k + 1)}) AS n${k}`);
  }
  for (let k = 0; k < CATEGORICAL; k++) {
    const cats = 3 + k * 4;
    cols.push(`'c' || CAST(floor(pow(${u(100 + k)}, ${1 + shift}) * ${cats}) AS INTEGER) AS c${k}`);
  }
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`COPY (SELECT ${cols.join(', ')} FROM range(${rows}) t(i)) TO '${path}' (FORMAT parquet)`);
  conn.closeSync();
  instance.closeSync();
}

/**
 * Baseline: DuckDB alone decoding the same 25 columns of both files (an aggregate over each, so
 * nothing crosses into JavaScript). The report cannot be faster than its input.
 */
async function readOnly(ref: string, cur: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const aggs = [
    ...Array.from({ length: NUMERICAL }, (_, k) => `max(n${k})`),
    ...Array.from({ length: CATEGORICAL }, (_, k) => `max(c${k})`),
  ].join(', ');
  for (const path of [ref, cur]) await conn.runAndReadAll(`SELECT ${aggs} FROM read_parquet('${path}')`);
  conn.closeSync();
  instance.closeSync();
}

/**
 * The compiled `driftReport` (dist/, so the worker threads exist) in this process: wall and CPU time
 * (process.cpuUsage counts every thread, workers and DuckDB's included), medians. CPU time is the
 * figure that holds on a shared machine, where wall time depends on the neighbours.
 */
async function inProcessReport(ref: string, cur: string, runs: number): Promise<{ wallMs: number; cpuMs: number }> {
  const dist = join(import.meta.dirname, '..', 'dist', 'monitor', 'drift', 'index.js');
  const { driftReport } = (await import(dist)) as typeof import('../src/monitor/drift/index.js');
  await driftReport({ reference: ref, current: cur }); // warm-up: module loading and JIT
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await driftReport({ reference: ref, current: cur });
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wallMs: median(wall), cpuMs: median(cpu) };
}

/** A uniform in (0, 1) from a hash of (i, k): the same sample on every run. */
function hashUnit(i: number, k: number): number {
  let h = Math.imul(i ^ Math.imul(k, 0x9e3779b9), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (((h ^ (h >>> 16)) >>> 0) + 0.5) / 4294967296;
}

/** CPU milliseconds of `sort` on a fresh copy of `sample` (the copy not counted), median of `runs`. */
function sortCpuMs(sort: (a: Float64Array) => unknown, sample: Float64Array, runs: number): number {
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const copy = Float64Array.from(sample);
    const c0 = process.cpuUsage();
    sort(copy);
    const c = process.cpuUsage(c0);
    ms.push((c.user + c.system) / 1000);
  }
  return median(ms);
}

async function time(fn: () => Promise<unknown>, runs: number): Promise<number> {
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

/** Times the full auto report against a read-only baseline and the sort it relies on. */
export async function driftBench(args: string[]): Promise<void> {
  const rows = argOf(args, '--rows', 1_000_000);
  const runs = argOf(args, '--runs', 3);
  const keep = args.includes('--keep') ? args[args.indexOf('--keep') + 1] : undefined;
  const dir = keep ?? (await mkdtemp(join(tmpdir(), 'berth-bench-drift-')));
  try {
    const ref = join(dir, `reference-${rows}.parquet`);
    const cur = join(dir, `current-${rows}.parquet`);
    const t0 = performance.now();
    if (!existsSync(ref)) await writeDataset(ref, rows, 1, 0);
    if (!existsSync(cur)) await writeDataset(cur, rows, 2, 0.2);
    process.stdout.write(`dataset: ${rows} rows x ${NUMERICAL} numerical + ${CATEGORICAL} categorical, twice (${((performance.now() - t0) / 1000).toFixed(1)} s to write)\n`);

    const readMs = await time(() => readOnly(ref, cur), runs);
    // `drift --help` loads what `drift` loads (DuckDB included); `--version` would load every command
    const startupMs = await time(() => promisify(execFile)(process.execPath, [CLI, 'drift', '--help']), runs);
    let drifted = 0;
    const reportMs = await time(async () => {
      drifted = await cliReport(ref, cur, 'auto');
    }, runs);
    const ksMs = await time(() => cliReport(ref, cur, 'ks'), runs);
    const psiMs = await time(() => cliReport(ref, cur, 'psi'), runs);

    // One column's sort alone, as the report sees it (normal data; uniform data sorts alike): CPU
    // time of this thread's work, median of at least 5, the copy excluded.
    const sample = new Float64Array(rows);
    for (let i = 0; i < rows; i++) sample[i] = Math.sqrt(-2 * Math.log(hashUnit(i, 1))) * Math.cos(2 * Math.PI * hashUnit(i, 2));
    const sortRuns = Math.max(runs, 5);
    const builtinMs = sortCpuMs((a) => a.sort(), sample, sortRuns);
    const bucketMs = sortCpuMs(sortFloat64, sample, sortRuns);
    // last: it leaves this process a large heap that would slow the measurements above
    const inProcess = await inProcessReport(ref, cur, runs);

    const row = (name: string, ms: number, base: number): (string | number)[] => [name, ms.toFixed(0), (ms / base).toFixed(2)];
    process.stdout.write(
      `${table(
        ['step', 'median ms', 'x baseline'],
        [
          row('baseline: DuckDB decodes the 25 columns of both files', readMs, readMs),
          row('berth drift --help (CLI start-up, included below)', startupMs, readMs),
          row(`berth drift (auto: wasserstein + jensenshannon; ${drifted} drifted)`, reportMs, readMs),
          row('driftReport in-process (auto; no CLI start-up)', inProcess.wallMs, readMs),
          row('berth drift --method ks (asymptotic p-values)', ksMs, readMs),
          row('berth drift --method psi', psiMs, readMs),
        ],
      )}\n\n${table(
        [`sort of ${rows} doubles (CPU)`, 'median ms', 'x Float64Array.sort'],
        [row('Float64Array.prototype.sort', builtinMs, builtinMs), row('sortFloat64 (two-level bucket sort)', bucketMs, builtinMs)],
      )}\n`,
    );
    process.stdout.write(
      `in-process CPU time of the auto report (all threads: DuckDB, workers, main): ${inProcess.cpuMs.toFixed(0)} ms for ${inProcess.wallMs.toFixed(0)} ms wall (median of ${runs})\n`,
    );
    process.stdout.write(`goal: auto report under 2000 ms: ${reportMs < 2000 ? 'met' : 'NOT met'} (${reportMs.toFixed(0)} ms, median of ${runs})\n`);
  } finally {
    if (keep === undefined) await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await driftBench(process.argv.slice(2));
