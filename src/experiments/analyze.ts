import { mkdtemp, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { errors, isBerthError } from '../errors.js';
import {
  type ArmSummary,
  sampleRatioMismatch,
  type TestName,
  type TestResult,
  twoProportionZTest,
  welchTTest,
} from '../stats/ab/index.js';

/** The metric's kind: binary (0/1, true/false) or continuous. */
export type MetricKind = 'binary' | 'continuous';

/** One arm in a report. */
export interface VariantStats {
  name: string;
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1). */
  std: number;
}

/** One variant compared with the control. */
export interface ComparisonStats {
  variant: string;
  difference: number;
  ci_low: number;
  ci_high: number;
  test: TestName;
  statistic: number;
  p_value: number;
  significant: boolean;
}

/** The offline analysis, exactly as `berth experiments analyze --json` prints it. */
export interface AnalysisReport {
  kind: MetricKind;
  control: string;
  /** Control first, then the other variants in sorted order. */
  variants: VariantStats[];
  comparisons: ComparisonStats[];
  srm_p_value: number;
}

/** Options of the offline analysis over summarised arms. */
export interface AnalysisOptions {
  kind: MetricKind;
  /** Defaults to the variant named `control`, else the first name in sorted order. */
  control?: string;
  /** Intended split: weights in the report's variant order, or by name (`control=30,treatment=70`). Equal when absent. */
  split?: string;
  /** Significance level (default 0.05); intervals are at 1 - alpha. */
  alpha?: number;
}

/** Options of the analysis of an exported file. */
export interface AnalyzeFileOptions extends AnalysisOptions {
  /** A .csv (header row), .jsonl / .ndjson / .json (one object per line) or .parquet file. */
  input: string;
  variantColumn: string;
  valueColumn: string;
}

/** Chooses the control: the requested one (which must exist), else `control`, else the first sorted name. */
export function chooseControl(names: string[], requested?: string): string {
  const sorted = [...names].sort();
  if (requested !== undefined) {
    if (!sorted.includes(requested)) {
      throw errors.badRequest(`--control '${requested}' is not a variant in the data (variants: ${sorted.join(', ')})`, 'control');
    }
    return requested;
  }
  return sorted.includes('control') ? 'control' : (sorted[0] ?? '');
}

/** Parses `--split`: numbers in variant order (`50,50`) or `name=weight` pairs; returns weights in `order`. */
export function parseSplit(text: string, order: string[]): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const num = (s: string): number => {
    const x = /^[0-9]*\.?[0-9]+(e[+-]?[0-9]+)?$/i.test(s) ? Number(s) : Number.NaN;
    if (!(x > 0)) throw errors.badRequest(`--split weights must be positive numbers, got '${s}' in '${text}'`, 'split');
    return x;
  };
  if (parts.every((p) => p.includes('='))) {
    const byName = new Map<string, number>();
    for (const p of parts) {
      const i = p.indexOf('=');
      const name = p.slice(0, i).trim();
      if (!order.includes(name)) {
        throw errors.badRequest(`--split names variant '${name}', which is not in the data (variants: ${order.join(', ')})`, 'split');
      }
      byName.set(name, num(p.slice(i + 1).trim()));
    }
    const missing = order.filter((n) => !byName.has(n));
    if (missing.length) throw errors.badRequest(`--split gives no weight for variant(s) ${missing.join(', ')}`, 'split');
    return order.map((n) => byName.get(n) ?? 0);
  }
  if (parts.length !== order.length) {
    throw errors.badRequest(
      `--split has ${parts.length} weight(s) but the data has ${order.length} variants (in order: ${order.join(', ')})`,
      'split',
    );
  }
  return parts.map(num);
}

/** Analyses summarised arms: per-variant stats, each variant against the control, and the SRM check. */
export function analyzeArms(arms: Map<string, ArmSummary>, options: AnalysisOptions): AnalysisReport {
  const alpha = options.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw errors.badRequest(`--alpha must be between 0 and 1, got ${alpha}`, 'alpha');
  const names = [...arms.keys()];
  if (names.length < 2) {
    throw errors.badRequest(
      `an A/B analysis needs at least 2 variants, the data has ${names.length}${names.length ? ` (${names.join(', ')})` : ''}`,
      'variant',
    );
  }
  const control = chooseControl(names, options.control);
  const order = [control, ...names.filter((n) => n !== control).sort()];
  const weights = options.split === undefined ? undefined : parseSplit(options.split, order);
  const arm = (name: string): ArmSummary => arms.get(name) ?? { n: 0, mean: 0, std: 0 };
  if (options.kind === 'continuous') {
    const thin = order.find((n) => arm(n).n < 2);
    if (thin !== undefined) {
      throw errors.badRequest(
        `variant '${thin}' has ${arm(thin).n} observation; Welch's t-test needs at least 2 per variant`,
        'value-column',
      );
    }
  }
  const test = options.kind === 'binary' ? twoProportionZTest : welchTTest;
  const comparisons = order.slice(1).map((variant): ComparisonStats => {
    const r: TestResult = test(arm(control), arm(variant), alpha);
    return {
      variant,
      difference: r.difference,
      ci_low: r.ci_low,
      ci_high: r.ci_high,
      test: r.test,
      statistic: r.statistic,
      p_value: r.p_value,
      significant: r.significant,
    };
  });
  const srm = sampleRatioMismatch(
    order.map((n) => arm(n).n),
    weights,
  );
  return {
    kind: options.kind,
    control,
    variants: order.map((name) => ({ name, ...arm(name) })),
    comparisons,
    srm_p_value: srm.p_value,
  };
}

/** Reads an exported CSV/JSONL file with DuckDB, summarises each variant's values and analyses them. */
export async function analyzeFile(options: AnalyzeFileOptions): Promise<AnalysisReport> {
  if (options.kind !== 'binary' && options.kind !== 'continuous') {
    throw errors.badRequest(`--kind must be binary or continuous, got '${String(options.kind)}'`, 'kind');
  }
  const arms = await summarizeFile(options);
  return analyzeArms(arms, options);
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** Per-variant n, mean and std (n - 1) of a file's value column, validating every value. */
export async function summarizeFile(options: AnalyzeFileOptions): Promise<Map<string, ArmSummary>> {
  const { input, kind } = options;
  const ext = extname(input).toLowerCase();
  const json = ['.jsonl', '.ndjson', '.json'].includes(ext);
  const reader = ['.csv', '.tsv', '.txt'].includes(ext)
    ? `read_csv($1, header = true, all_varchar = true, quote = '"', escape = '"')`
    : json
      ? "read_json($1, format = 'newline_delimited')"
      : ['.parquet', '.pq'].includes(ext)
        ? 'read_parquet($1)'
        : undefined;
  if (reader === undefined) {
    throw errors.badRequest(`unknown input format for '${input}': expected .csv/.tsv (header row), .jsonl/.ndjson/.json (one object per line) or .parquet`, 'input');
  }
  try {
    const s = await stat(input);
    if (s.isDirectory()) throw errors.badRequest(`--input '${input}' is a directory`, 'input');
  } catch (e) {
    if (isBerthError(e)) throw e;
    throw errors.badRequest(`--input '${input}' not found`, 'input');
  }
  const duckdb = await import('@duckdb/node-api');
  // DuckDB expands glob characters in file names; hand it a link with a plain name instead.
  let linkDir: string | undefined;
  let target = resolve(input);
  if (/[*?[\]{}]/.test(target)) {
    linkDir = await mkdtemp(join(tmpdir(), 'berth-exp-'));
    target = join(linkDir, `input${ext}`);
    await symlink(resolve(input), target);
  }
  const instance = await duckdb.DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const rows = async (sql: string): Promise<Record<string, unknown>[]> =>
    (await connection.runAndReadAll(sql, [target])).getRowObjects() as Record<string, unknown>[];
  try {
    let columns: string[];
    try {
      columns = (await rows(`DESCRIBE SELECT * FROM ${reader}`)).map((r) => String(r['column_name']));
    } catch (e) {
      throw errors.badRequest(`--input '${input}' is not readable: ${(e as Error).message.split('\n')[0]}`, 'input');
    }
    for (const [column, flag] of [
      [options.variantColumn, 'variant-column'],
      [options.valueColumn, 'value-column'],
    ] as const) {
      if (!columns.includes(column)) {
        throw errors.badRequest(`--${flag} '${column}' is not a column of '${input}' (columns: ${columns.join(', ')})`, flag);
      }
    }
    // A JSON column of mixed types reads as JSON text: unwrap string values ("0" -> 0).
    const text = (column: string): string => {
      const cast = `trim(CAST(${quoteIdent(column)} AS VARCHAR))`;
      return json ? `regexp_replace(${cast}, '^"(.*)"$', '\\1')` : cast;
    };
    const v = text(options.variantColumn);
    const raw = text(options.valueColumn);
    const x = `(CASE lower(${raw}) WHEN 'true' THEN 1.0 WHEN 'false' THEN 0.0 ELSE TRY_CAST(${raw} AS DOUBLE) END)`;
    const valid = kind === 'binary' ? 'x IN (0.0, 1.0)' : 'isfinite(x)';
    const source = `(SELECT row_number() OVER () AS rn, ${v} AS v, ${raw} AS raw, ${x} AS x FROM ${reader})`;
    const bad = await rows(
      `SELECT rn, v, raw FROM ${source} WHERE v IS NULL OR x IS NULL OR NOT (${valid}) ORDER BY rn LIMIT 1`,
    );
    const first = bad[0];
    if (first !== undefined) {
      const where = `'${input}' data row ${String(first['rn'])}`;
      if (first['v'] === null) throw errors.badRequest(`${where}: the variant column '${options.variantColumn}' is empty`, 'variant-column');
      const got = first['raw'] === null ? 'an empty value' : `'${String(first['raw'])}'`;
      const want = kind === 'binary' ? 'a binary metric needs 0 or 1 (or true/false)' : 'a continuous metric needs a finite number';
      throw errors.badRequest(`${where}: value column '${options.valueColumn}' has ${got}; ${want}`, 'value-column');
    }
    const summary = await rows(
      `SELECT v, count(*) AS n, avg(x) AS mean, coalesce(stddev_samp(x), 0) AS std FROM ${source} GROUP BY v`,
    );
    const arms = new Map<string, ArmSummary>();
    for (const r of summary) {
      arms.set(String(r['v']), { n: Number(r['n']), mean: Number(r['mean']), std: Number(r['std']) });
    }
    return arms;
  } catch (e) {
    if (isBerthError(e)) throw e;
    throw errors.badRequest(`--input '${input}' could not be analysed: ${(e as Error).message.split('\n')[0]}`, 'input');
  } finally {
    connection.closeSync();
    instance.closeSync();
    if (linkDir !== undefined) await rm(linkDir, { recursive: true, force: true });
  }
}
