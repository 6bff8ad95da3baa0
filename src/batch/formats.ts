/** File formats on either side of a batch run, and the SQL that reads an input file in row order. */
import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { errors } from '../errors.js';
import type { ReadType } from './mapping.js';

export type FileFormat = 'csv' | 'jsonl' | 'parquet';

const EXTENSIONS: Record<string, FileFormat> = {
  '.csv': 'csv',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.parquet': 'parquet',
  '.pq': 'parquet',
};

/** The format a file name says it holds; BAD_REQUEST naming `field` for anything else. */
export function formatOf(path: string, field: string): FileFormat {
  const f = EXTENSIONS[extname(path).toLowerCase()];
  if (f === undefined) {
    throw errors.badRequest(
      `cannot tell the format of '${path}' from its name: use .csv, .jsonl (or .ndjson) or .parquet`,
      field,
    );
  }
  return f;
}

/** SQL text literal. */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** SQL identifier. */
export function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** A table function reading the whole input file; CSV and JSONL values arrive as text and are cast by us. */
export function readSql(path: string, format: FileFormat, jsonColumns?: string[]): string {
  if (format === 'parquet') return `read_parquet(${lit(path)})`;
  if (format === 'csv') return `read_csv(${lit(path)}, header = true, all_varchar = true, null_padding = true)`;
  const cols = (jsonColumns ?? []).map((c) => `${lit(c)}: 'VARCHAR'`).join(', ');
  return `read_json(${lit(path)}, format = 'newline_delimited', columns = {${cols}})`;
}

/** Checks the input exists and is a file; BAD_REQUEST naming `input` otherwise. */
export async function checkInput(path: string): Promise<{ size: number; mtimeMs: number }> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw errors.badRequest(`input '${path}' is not a file`, 'input');
    return { size: s.size, mtimeMs: s.mtimeMs };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw errors.badRequest(`input '${path}' not found`, 'input');
    throw e;
  }
}

/** The columns a file has, read from its header (CSV), first records (JSONL) or schema (Parquet). */
export async function fileColumns(conn: DuckDBConnection, path: string, format: FileFormat): Promise<string[]> {
  const from =
    format === 'jsonl'
      ? `read_json_auto(${lit(path)}, format = 'newline_delimited')`
      : readSql(path, format);
  try {
    const r = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`);
    return r.getRowObjects().map((row) => String(row['column_name']));
  } catch (e) {
    throw errors.badRequest(`input '${path}' cannot be read as ${format}: ${(e as Error).message.split('\n')[0]}`, 'input');
  }
}

/**
 * The streaming query for a run: one typed value per model column (`v0..`) and `reason`, NULL for
 * a good row and the text of what is wrong (missing value, not a number) for a bad one.
 */
export function rowsSql(from: string, columns: string[], types: ReadType[], offset: number): string {
  // DuckDB rounds '3.5' to an integer; an integer input only takes values that are whole numbers.
  const cast = (c: string, t: ReadType): string =>
    t === 'DOUBLE'
      ? `TRY_CAST(${ident(c)} AS DOUBLE)`
      : `CASE WHEN TRY_CAST(${ident(c)} AS DOUBLE) = TRY_CAST(${ident(c)} AS ${t}) THEN TRY_CAST(${ident(c)} AS ${t}) END`;
  const inner = columns.map((c, i) => `${ident(c)} AS r${i}, ${cast(c, types[i]!)} AS v${i}`).join(', ');
  const values = columns.map((_, i) => `v${i}`).join(', ');
  const anyBad = columns.map((_, i) => `v${i} IS NULL`).join(' OR ');
  const reasons = columns
    .map((c, i) => {
      const name = lit(c).slice(1, -1);
      const want = types[i] !== 'DOUBLE' ? 'an integer' : 'a number';
      return `CASE WHEN r${i} IS NULL THEN 'missing value for column ''${name}''' WHEN v${i} IS NULL THEN 'column ''${name}'': ''' || left(CAST(r${i} AS VARCHAR), 80) || ''' is not ${want}' END`;
    })
    .join(', ');
  return `SELECT ${values}, CASE WHEN ${anyBad} THEN concat_ws('; ', ${reasons}) END AS reason FROM (SELECT ${inner} FROM ${from})${offset > 0 ? ` OFFSET ${offset}` : ''}`;
}

/**
 * Total data rows: exact for Parquet (from its footer); for text formats an estimate from the
 * first MiB's bytes per line, so that the progress bar has an ETA without a second pass.
 */
export async function estimateRows(conn: DuckDBConnection, path: string, format: FileFormat, size: number): Promise<{ rows: number; exact: boolean }> {
  if (format === 'parquet') {
    const r = await conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${lit(path)})`);
    return { rows: Number(r.getRowObjects()[0]?.['n'] ?? 0), exact: true };
  }
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(Math.min(size, 1 << 20));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    let lines = 0;
    for (let i = 0; i < bytesRead; i++) if (buf[i] === 10) lines++;
    if (bytesRead === size) return { rows: Math.max(0, lines - (format === 'csv' ? 1 : 0) + (buf[bytesRead - 1] === 10 ? 0 : 1)), exact: false };
    return { rows: Math.round((size / bytesRead) * lines) - (format === 'csv' ? 1 : 0), exact: false };
  } finally {
    await fh.close();
  }
}
