import { existsSync } from 'node:fs';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { errors } from '../../errors.js';
import type { FeatureDtype, SourceDef } from '../definitions.js';

/** SQL text literal. */
export function lit(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** SQL identifier (names are validated, this only guards quoting). */
export function id(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

const TYPES: Record<FeatureDtype, string> = {
  bool: 'BOOLEAN',
  int32: 'INTEGER',
  int64: 'BIGINT',
  float32: 'FLOAT',
  float64: 'DOUBLE',
  string: 'VARCHAR',
  unix_timestamp: 'TIMESTAMP',
};

/** The DuckDB type a feature dtype is read as. */
export function sqlType(dtype: FeatureDtype): string {
  return TYPES[dtype];
}

/** A table function reading a Parquet or CSV file. */
export function readFile(path: string): string {
  return path.toLowerCase().endsWith('.csv') ? `read_csv(${lit(path)}, header = true)` : `read_parquet(${lit(path)})`;
}

/** A relation reading a source, with its offline push log when rows were pushed to it. */
export function readSource(src: SourceDef): string {
  if (!src.push_log || !existsSync(src.push_log)) return readFile(src.path);
  return `(SELECT * FROM ${readFile(src.path)} UNION ALL BY NAME SELECT * FROM read_csv(${lit(src.push_log)}, header = true))`;
}

/** An in-memory DuckDB with UTC session time; close it after use. */
export async function openDuck(): Promise<{ conn: DuckDBConnection; close(): void }> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run("SET TimeZone = 'UTC'");
  return {
    conn,
    close: () => {
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** Column names of a file, with an error naming the file when it cannot be read. */
export async function columnsOf(conn: DuckDBConnection, path: string, what: string): Promise<string[]> {
  try {
    const r = await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${readFile(path)}`);
    return r.getRowObjects().map((row) => String(row['column_name']));
  } catch (e) {
    throw errors.badRequest(`${what} '${path}' cannot be read: ${(e as Error).message.split('\n')[0]}`, what);
  }
}
