/**
 * Results are staged in memory and written out part by part beside the output: each checkpoint cuts
 * a part file (in the output's format) while the next rows keep flowing into a second table, so the
 * writing overlaps the model runs. Only a completed run joins the parts into the output, under a
 * temporary name renamed into place: an interrupted run leaves parts (which `--resume` keeps) and
 * never a truncated output.
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type DuckDBAppender, type DuckDBConnection, DuckDBDataChunk, type DuckDBInstance, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { float16BitsToFloat32 } from '../onnx/index.js';
import type { Tensor, TensorData } from '../protocol/types.js';
import { type FileFormat, ident, lit } from './formats.js';
import type { OutputColumn } from './mapping.js';

const CHUNK_ROWS = 2048;
const TABLES = ['batch_results_a', 'batch_results_b'] as const;

function valueAt(data: TensorData, i: number, datatype: Tensor['datatype']): DuckDBValue {
  const v = data[i]!;
  if (datatype === 'BOOL') return v !== 0;
  if (datatype === 'FP16') return float16BitsToFloat32(v as number);
  return v;
}

const partName = (n: number, format: FileFormat): string => `part-${String(n).padStart(6, '0')}.${format}`;

/** Deletes part files past `keep` (written after the last recorded checkpoint). */
export async function dropPartsAfter(dir: string, keep: number): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names.filter((n) => !/^part-\d{6}\.\w+$/.test(n) || Number(n.slice(5, 11)) > keep).map((n) => rm(join(dir, n), { force: true })),
  );
}

/** Where one run's results go until the run completes. */
export class ResultSink {
  cols: OutputColumn[] | undefined;
  private types: DuckDBType[] = [];
  private active = 0;
  private appender: DuckDBAppender | undefined;
  private pending: Promise<void> = Promise.resolve();
  private stagedRows = 0;

  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly exporter: DuckDBConnection,
    private readonly dir: string,
    private readonly format: FileFormat,
    /** Parts written so far (including those of an interrupted run being resumed). */
    public parts: number,
  ) {}

  /** A sink writing parts into `dir`, after the `parts` a resumed run already has. */
  static async open(instance: DuckDBInstance, dir: string, format: FileFormat, parts: number): Promise<ResultSink> {
    await mkdir(dir, { recursive: true });
    await dropPartsAfter(dir, parts);
    return new ResultSink(await instance.connect(), await instance.connect(), dir, format, parts);
  }

  /** Rows appended since the last cut. */
  get rowsStaged(): number {
    return this.stagedRows;
  }

  /** Creates the staging tables for these output columns (row number first). */
  async init(cols: OutputColumn[]): Promise<void> {
    this.cols = cols;
    const defs = ['"row" BIGINT', ...cols.map((c) => `${ident(c.name)} ${c.sqlType}`)].join(', ');
    for (const t of TABLES) await this.conn.run(`CREATE TABLE ${t} (${defs})`);
    this.appender = await this.conn.createAppender(TABLES[this.active]!);
    this.types = Array.from({ length: this.appender.columnCount }, (_, i) => this.appender!.columnType(i));
  }

  /** Appends one model run's results: `rows[i]` is the input row number of output row i. */
  append(rows: Float64Array, count: number, outputs: Tensor[]): void {
    const cols = this.cols!;
    const widths = outputs.map((t) => (t.shape.length <= 1 ? 1 : t.shape.slice(1).reduce((a, b) => a * b, 1)));
    for (let start = 0; start < count; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, count - start);
      const chunk = DuckDBDataChunk.create(this.types, n);
      const rowVec = chunk.getColumnVector(0);
      for (let i = 0; i < n; i++) rowVec.setItem(i, BigInt(rows[start + i]!));
      rowVec.flush();
      cols.forEach((c, ci) => {
        const t = outputs[c.tensor]!;
        const w = widths[c.tensor]!;
        const off = Math.max(c.index, 0);
        const vec = chunk.getColumnVector(ci + 1);
        const data = t.data;
        for (let i = 0; i < n; i++) vec.setItem(i, valueAt(data, (start + i) * w + off, t.datatype));
        vec.flush();
      });
      this.appender!.appendDataChunk(chunk);
    }
    this.stagedRows += count;
  }

  /**
   * Ends the current part: it is written out in the background while appends go to the other table;
   * `durable` runs once the part file is on disk, with the part count it completes.
   */
  async cut(durable: (parts: number) => Promise<void>): Promise<void> {
    await this.pending;
    const table = TABLES[this.active]!;
    const rows = this.stagedRows;
    this.appender?.flushSync();
    this.appender?.closeSync();
    this.active ^= 1;
    this.appender = this.cols ? await this.conn.createAppender(TABLES[this.active]!) : undefined;
    this.stagedRows = 0;
    // an empty part is only needed for the first (a CSV header; a Parquet schema)
    const write = this.cols && (rows > 0 || this.parts === 0) ? ++this.parts : 0;
    const parts = this.parts;
    this.pending = (async () => {
      if (write > 0 && this.cols) {
        const path = join(this.dir, partName(write, this.format));
        await this.exporter.run(`COPY ${table} TO ${lit(`${path}.tmp`)} (${this.copyOptions(write === 1)})`);
        await rename(`${path}.tmp`, path);
      }
      if (this.cols) await this.exporter.run(`DELETE FROM ${table}`);
      await durable(parts);
    })();
  }

  /** Waits for the part being written. */
  async settle(): Promise<void> {
    await this.pending;
  }

  /** Joins the parts, in order, into `path`. */
  async assemble(path: string): Promise<void> {
    await this.pending;
    const files = Array.from({ length: this.parts }, (_, i) => join(this.dir, partName(i + 1, this.format)));
    if (this.format === 'parquet') {
      const list = `[${files.map(lit).join(', ')}]`;
      await this.exporter.run(`COPY (SELECT * FROM read_parquet(${list})) TO ${lit(path)} (FORMAT parquet)`);
      return;
    }
    // The first part is copied in the kernel (copy_file_range); the rest are appended in large reads.
    if (files.length > 0) await copyFile(files[0]!, path);
    const out = await open(path, files.length > 0 ? 'a' : 'w');
    try {
      for (const f of files.slice(1)) {
        for await (const chunk of createReadStream(f, { highWaterMark: 4 << 20 })) await out.write(chunk as Buffer);
      }
      await out.sync();
    } finally {
      await out.close();
    }
  }

  /** Closes the appender (the connections close with their instance). */
  close(): void {
    try {
      this.appender?.closeSync();
    } catch {
      // the run has already failed; the parts and checkpoint on disk are what counts
    }
    this.appender = undefined;
  }

  private copyOptions(first: boolean): string {
    if (this.format === 'csv') return `FORMAT csv, HEADER ${first ? 'true' : 'false'}`;
    return this.format === 'jsonl' ? 'FORMAT json' : 'FORMAT parquet';
  }
}
