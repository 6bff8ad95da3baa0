import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Tensor } from '../../protocol/index.js';
import type { ModelVersion, Registry } from '../../registry/index.js';
import type { ModelRuntime } from '../../runtime/index.js';
import { sortFloat64, stdDev } from '../../stats/drift/index.js';
import { extractPredictions, layoutOf, type VersionLayout } from '../logging/layout.js';
import type { CellValue } from './summary.js';

/** Reference rows read at most (a reference is a sample: more adds nothing to the statistics). */
export const MAX_REFERENCE_ROWS = 1_000_000;
/** Numbers kept per reference column: every value up to this, else this many evenly spaced quantiles. */
export const MAX_SAMPLE_POINTS = 10_000;

/** One reference column, summarised once: a sorted sample, its std, category counts and missing. */
export interface ReferenceColumn {
  numeric: boolean;
  /** Non-missing values. */
  n: number;
  missing: number;
  /** Sorted numbers (numeric columns): all of them, or MAX_SAMPLE_POINTS quantiles of them. */
  sorted: Float64Array;
  /** Population std of all the numbers (not of the sample). */
  std: number;
  /** Value counts keyed by String(value); for numbers only while there are at most 256 distinct. */
  counts: Map<string, number>;
  /** Distinct values (capped at 257: only "more than 5" matters for kind detection). */
  distinct: number;
}

/** What live traffic is compared against: the reference's columns and the model's predictions on it. */
export interface ReferenceSummary {
  rows: number;
  columns: Map<string, ReferenceColumn>;
  prediction: ReferenceColumn | undefined;
}

/** Summarises one column of reference values (null or NaN = missing). */
export function summarizeColumn(values: ArrayLike<CellValue>): ReferenceColumn {
  let missing = 0;
  let numbers = 0;
  const counts = new Map<string, number>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // biome-ignore lint/suspicious/noSelfCompare: v !== v is the fast NaN test
    if (v === null || v === undefined || v !== v) {
      missing++;
      continue;
    }
    if (typeof v === 'number') numbers++;
    if (counts.size <= 256) {
      const k = String(v);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  const n = values.length - missing;
  const numeric = n > 0 && numbers === n;
  let sorted: Float64Array = new Float64Array(0);
  let std = Number.NaN;
  if (numeric) {
    const all = new Float64Array(n);
    let o = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      // biome-ignore lint/suspicious/noSelfCompare: NaN test
      if (typeof v === 'number' && v === v) all[o++] = v;
    }
    const all2 = sortFloat64(all);
    std = stdDev(all2);
    if (n <= MAX_SAMPLE_POINTS) sorted = all2;
    else {
      sorted = new Float64Array(MAX_SAMPLE_POINTS);
      for (let j = 0; j < MAX_SAMPLE_POINTS; j++) sorted[j] = all2[Math.min(n - 1, Math.floor(((j + 0.5) / MAX_SAMPLE_POINTS) * n))] as number;
    }
  }
  const distinct = counts.size;
  if (numeric && counts.size > 256) counts.clear();
  return { numeric, n, missing, sorted, std, counts, distinct };
}

const quote = (s: string): string => `'${s.replaceAll("'", "''")}'`;
const ident = (s: string): string => `"${s.replaceAll('"', '""')}"`;

/** Reads the named columns of a reference file (CSV or Parquet) with DuckDB: numbers as numbers, the rest as strings. */
export async function readReferenceColumns(path: string, names: string[]): Promise<{ rows: number; columns: Map<string, CellValue[]> }> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const file = resolve(path);
    const head = await readFile(file).then((b) => b.subarray(0, 4).toString('latin1'));
    const source =
      head === 'PAR1' || ['.parquet', '.pq'].includes(extname(file).toLowerCase())
        ? `read_parquet(${quote(file)})`
        : `read_csv(${quote(file)}, header = true, sample_size = -1, nullstr = ['', 'NA', 'N/A', 'NaN', 'nan', 'null', 'NULL'])`;
    const described = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`);
    const types = new Map(described.getRowObjects().map((r) => [String(r['column_name']), String(r['column_type'])]));
    const present = names.filter((n) => types.has(n));
    const columns = new Map<string, CellValue[]>();
    if (present.length === 0) return { rows: 0, columns };
    const numeric = (t: string): boolean => /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL.*)$/.test(t);
    const select = present
      .map((n) => (numeric(types.get(n) as string) ? `CAST(${ident(n)} AS DOUBLE)` : `CAST(${ident(n)} AS VARCHAR)`))
      .join(', ');
    const result = await conn.runAndReadAll(`SELECT ${select} FROM ${source} LIMIT ${MAX_REFERENCE_ROWS}`);
    const cols = result.getColumns();
    present.forEach((n, i) => {
      columns.set(n, (cols[i] ?? []).map((v) => (v === null ? null : typeof v === 'number' || typeof v === 'string' ? v : String(v))));
    });
    return { rows: result.currentRowCount, columns };
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

type TypedCtor = Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor;
const CTORS: Partial<Record<string, TypedCtor>> = { FP32: Float32Array, FP64: Float64Array, INT32: Int32Array };

/**
 * The model's predictions on its reference rows (for concept drift), computed once and cached under
 * `cacheFile`. Only tabular models with one [N, F] input of FP32, FP64, INT32 or INT64 qualify.
 */
export async function referencePredictions(
  layout: VersionLayout,
  datatype: string,
  features: Map<string, CellValue[]>,
  rows: number,
  run: (inputs: Tensor[]) => Promise<Tensor[]>,
  cacheFile: string,
): Promise<CellValue[] | undefined> {
  try {
    return JSON.parse(await readFile(cacheFile, 'utf8')) as CellValue[];
  } catch {}
  if (layout.mode !== 'matrix' || layout.input === undefined || layout.prediction === undefined) return undefined;
  const cols = layout.features.map((f) => features.get(f));
  if (cols.some((c) => c === undefined) || rows === 0) return undefined;
  const f = cols.length;
  const out: CellValue[] = [];
  const CHUNK = 1024;
  for (let start = 0; start < rows; start += CHUNK) {
    const n = Math.min(CHUNK, rows - start);
    const nums = new Float64Array(n * f);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < f; j++) {
        const v = (cols[j] as CellValue[])[start + i];
        nums[i * f + j] = typeof v === 'number' ? v : Number.NaN;
      }
    }
    let data: Tensor['data'];
    if (datatype === 'INT64') data = BigInt64Array.from(nums, (x) => BigInt(Number.isFinite(x) ? Math.trunc(x) : 0));
    else {
      const Ctor = CTORS[datatype];
      if (Ctor === undefined) return undefined;
      data = Ctor.from(nums);
    }
    const outputs = await run([{ name: layout.input, datatype: datatype as Tensor['datatype'], shape: [n, f], data }]);
    out.push(...extractPredictions(layout, outputs, n));
  }
  await mkdir(dirname(cacheFile), { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(out));
  await rename(tmp, cacheFile);
  return out;
}

/** Where a version's reference predictions are cached. */
export const referencePredictionsFile = (home: string, model: string, version: number): string =>
  join(home, 'monitoring', 'reference-predictions', encodeURIComponent(model), `${version}.json`);

/**
 * Reads and summarises a version's reference dataset (the columns the layout names) and, when `run`
 * is given, the model's predictions on it (cached under home). Undefined when the version has none.
 */
export async function loadReferenceSummary(
  registry: Registry,
  home: string,
  mv: ModelVersion,
  layout: VersionLayout,
  run: ((inputs: Tensor[]) => Promise<Tensor[]>) | undefined,
  logger?: Logger,
): Promise<ReferenceSummary | undefined> {
  if (mv.reference === null) return undefined;
  const path = await registry.referencePath(mv);
  const { rows, columns } = await readReferenceColumns(path, layout.features);
  const summary: ReferenceSummary = { rows, columns: new Map(), prediction: undefined };
  for (const [name, values] of columns) summary.columns.set(name, summarizeColumn(values));
  if (run !== undefined) {
    try {
      const file = referencePredictionsFile(home, mv.model, mv.version);
      const datatype = mv.signature.inputs[0]?.datatype ?? 'FP32';
      const preds = await referencePredictions(layout, datatype, columns, rows, run, file);
      if (preds !== undefined) summary.prediction = summarizeColumn(preds);
    } catch (e) {
      logger?.warn({ err: e, model: mv.model, version: mv.version }, 'reference predictions failed; concept drift is off for this version');
    }
  }
  return summary;
}

/**
 * Computes and caches a newly registered version's predictions on its reference dataset (what
 * concept drift compares live predictions with), loading the model in `runtime` for the run only.
 * Does nothing for versions without a reference or models that are not tabular.
 */
export async function precomputeReferencePredictions(
  registry: Registry,
  runtime: ModelRuntime,
  home: string,
  mv: ModelVersion,
): Promise<boolean> {
  if (mv.reference === null) return false;
  const model = await runtime.load(await registry.loadArtifact(mv));
  try {
    const summary = await loadReferenceSummary(registry, home, mv, layoutOf(mv), (inputs) => model.run(inputs));
    return summary?.prediction !== undefined;
  } finally {
    await model.dispose();
  }
}
