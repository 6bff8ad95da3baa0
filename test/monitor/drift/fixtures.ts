import { writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

/** A row of the seeded test table: x (numeric, some missing), y (1 decimal), cat (a–d, some missing), k (0–2). */
export type Row = [x: number | null, y: number, cat: string | null, k: number];

/**
 * The same table as the Python script in report.test.ts builds (32-bit LCG, Irwin–Hall normals), so
 * scipy's numbers apply to it. `shift` moves x and skews cat.
 */
export function table(seed: number, n: number, shift: number): Row[] {
  let s = seed >>> 0;
  const u = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const normal = (): number => {
    let t = 0;
    for (let k = 0; k < 12; k++) t += u();
    return t - 6;
  };
  const rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    const x = normal() + shift;
    const y = Math.floor(normal() * 10 + 0.5) / 10;
    const v = u();
    const cat = 'abcd'[Math.min(Math.floor(shift ? v * v * 4 : v * 4), 3)] as string;
    const k = Math.floor(u() * 3);
    rows.push([i % 37 === 5 ? null : x, y, i % 50 === 7 ? null : cat, k]);
  }
  return rows;
}

/** Writes rows as CSV (empty field for a missing value; numbers in round-trip precision). */
export function writeCsv(path: string, rows: Row[]): void {
  const body = rows.map((r) => r.map((v) => (v === null ? '' : String(v))).join(',')).join('\n');
  writeFileSync(path, `x,y,cat,k\n${body}\n`);
}

/** Converts a CSV file to Parquet with DuckDB. */
export async function csvToParquet(csv: string, parquet: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  await conn.run(`COPY (SELECT * FROM read_csv('${csv}', header = true)) TO '${parquet}' (FORMAT parquet)`);
  conn.closeSync();
  instance.closeSync();
}
