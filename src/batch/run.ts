/** The batch engine: stream an input file through a registered model into an output file. */
import { type FileHandle, open, rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { BerthCore } from '../core.js';
import { BerthError, errors } from '../errors.js';
import { type ModelVersion, parseModelRef } from '../registry/index.js';
import type { LoadedModel } from '../runtime/index.js';
import { columnValues, isNullAt, RowBuffer } from './buffers.js';
import { type Checkpoint, readCheckpoint, removeSidecars, sidecarPaths, writeCheckpoint } from './checkpoint.js';
import { checkInput, estimateRows, type FileFormat, fileColumns, formatOf, readSql, rowsSql } from './formats.js';
import { type InputPlan, planInputs, planOutputs } from './mapping.js';
import { ResultSink } from './staging.js';

export const DEFAULT_BATCH_SIZE = 8192;
const MAX_BATCH_SIZE = 1_000_000;
/** Rows staged in memory before a part is cut, whatever the time since the last checkpoint. */
const MAX_STAGED_ROWS = 500_000;

export interface BatchOptions {
  /** `NAME`, `NAME:VERSION` or `NAME@ALIAS`. */
  model: string;
  input: string;
  output: string;
  /** Rows per model run (default 8192). */
  batchSize?: number;
  /** Input columns, in the model's order; default: the reference dataset's columns without the label. */
  columns?: string[];
  /** Continue after the last completed chunk of an interrupted run with the same model and input. */
  resume?: boolean;
  /** Stops the run at the next chunk boundary, keeping its progress for `resume`. */
  signal?: AbortSignal;
  onProgress?: (p: BatchProgress) => void;
  /** Least time between durable checkpoints (default 1000 ms; 0 checkpoints after every run). */
  checkpointEveryMs?: number;
  /** DuckDB's memory limit while reading and staging (default '256MB'). */
  memoryLimit?: string;
}

export interface BatchProgress {
  /** Input rows consumed so far, good and bad, including those of a resumed run. */
  rowsDone: number;
  /** Total input rows: exact for Parquet, estimated from the first MiB for CSV and JSONL. */
  rowsTotal: number;
  totalExact: boolean;
  errors: number;
  /** Rows per second in this session. */
  rowsPerSec: number;
  model: string;
  modelVersion: number;
}

export interface BatchResult {
  model: string;
  modelVersion: number;
  output: string;
  /** The bad-row file (JSON lines of `{row, reason}`), or null when every row was good. */
  errorFile: string | null;
  rowsRead: number;
  rowsWritten: number;
  errors: number;
  /** Rows a resumed run skipped because an earlier run completed them. */
  resumedFrom: number;
  outputColumns: string[];
  seconds: number;
  rowsPerSec: number;
}

/** Thrown when a run stops on its signal; progress is kept and `resume` continues it. */
export class BatchInterrupted extends BerthError {
  constructor(readonly rowsDone: number) {
    super('CONFLICT', `batch run interrupted after ${rowsDone} rows; run again with --resume to continue`);
  }
}

function checkOptions(o: BatchOptions): number {
  const size = o.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(size) || size < 1 || size > MAX_BATCH_SIZE) {
    throw errors.badRequest(`batch size must be an integer from 1 to ${MAX_BATCH_SIZE}, got ${o.batchSize}`, 'batch_size');
  }
  if (typeof o.input !== 'string' || o.input === '') throw errors.badRequest('input file is required', 'input');
  if (typeof o.output !== 'string' || o.output === '') throw errors.badRequest('output file is required', 'output');
  if (resolve(o.input) === resolve(o.output)) throw errors.badRequest('output must not be the input file', 'output');
  return size;
}

async function checkOutputDir(output: string): Promise<void> {
  const dir = dirname(resolve(output));
  const s = await stat(dir).catch(() => undefined);
  if (!s?.isDirectory()) throw errors.badRequest(`output directory '${dir}' does not exist`, 'output');
}

/**
 * Runs a model over every row of `input`, writing a `row` column (the 1-based input row number)
 * and the model's outputs to `output`; bad rows go to `<output>.errors.jsonl`.
 */
export async function runBatch(core: Pick<BerthCore, 'registry' | 'runtime'>, o: BatchOptions): Promise<BatchResult> {
  const result = await execute(core, o);
  await removeSidecars(result.output);
  if (result.errorFile === null) await rm(sidecarPaths(result.output).errors, { force: true });
  return result;
}

/** What a run needs once its request is checked: formats, paths, the model version and the column plan. */
export interface PreparedBatch {
  batchSize: number;
  inFormat: FileFormat;
  outFormat: FileFormat;
  input: string;
  output: string;
  inStat: { size: number; mtimeMs: number };
  mv: ModelVersion;
  plan: InputPlan;
}

/** Checks a request without reading the input rows: BAD_REQUEST / NOT_FOUND naming what is wrong. */
export async function prepareBatch(core: Pick<BerthCore, 'registry'>, o: BatchOptions): Promise<PreparedBatch> {
  const batchSize = checkOptions(o);
  const inFormat = formatOf(o.input, 'input');
  const outFormat = formatOf(o.output, 'output');
  const input = resolve(o.input);
  const output = resolve(o.output);
  const inStat = await checkInput(input);
  await checkOutputDir(output);
  const mv = await core.registry.resolve(parseModelRef(o.model));
  const plan = planInputs(mv, o.columns);
  return { batchSize, inFormat, outFormat, input, output, inStat, mv, plan };
}

async function execute(core: Pick<BerthCore, 'registry' | 'runtime'>, o: BatchOptions): Promise<BatchResult> {
  const started = performance.now();
  const { batchSize, inFormat, outFormat, input, output, inStat, mv, plan } = await prepareBatch(core, o);
  const paths = sidecarPaths(output);

  let cp: Checkpoint | undefined;
  if (o.resume) {
    cp = await readCheckpoint(paths.checkpoint);
    if (cp !== undefined) {
      const same = cp.sha256 === mv.sha256 && cp.input === input && cp.inputSize === inStat.size && cp.inputMtimeMs === inStat.mtimeMs;
      if (!same || cp.columns.join('\u0000') !== plan.columns.join('\u0000')) {
        throw errors.badRequest(
          `cannot resume: the interrupted run used ${cp.model}:${cp.modelVersion} on '${cp.input}' (columns ${cp.columns.join(', ')}); the input, model or columns differ. Run without --resume to start over`,
          'resume',
        );
      }
    }
  }
  if (cp === undefined) {
    await removeSidecars(output);
    await rm(paths.errors, { force: true });
  }
  const state: Checkpoint = cp ?? {
    format: 1,
    model: mv.model,
    modelVersion: mv.version,
    sha256: mv.sha256,
    input,
    inputSize: inStat.size,
    inputMtimeMs: inStat.mtimeMs,
    columns: plan.columns,
    rowsRead: 0,
    rowsWritten: 0,
    errors: 0,
    errorBytes: 0,
    parts: 0,
    startedAt: new Date().toISOString(),
  };
  const resumedFrom = state.rowsRead;

  const instance = await DuckDBInstance.create(':memory:');
  const reader = await instance.connect();
  let model: LoadedModel | undefined;
  let sink: ResultSink | undefined;
  let errFile: FileHandle | undefined;
  try {
    await reader.run(`SET memory_limit = '${(o.memoryLimit ?? '256MB').replace(/'/g, '')}'`);
    const present = await fileColumns(reader, input, inFormat);
    const missing = plan.columns.filter((c) => !present.includes(c));
    if (missing.length > 0) {
      throw errors.badRequest(
        `input '${o.input}' has no column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `'${c}'`).join(', ')} (it has: ${present.join(', ')})`,
        'columns',
      );
    }
    const total = await estimateRows(reader, input, inFormat, inStat.size);
    model = await core.runtime.load(await core.registry.loadArtifact(mv));
    const results = await ResultSink.open(instance, paths.parts, outFormat, state.parts);
    sink = results;
    if (cp !== undefined) await truncate(paths.errors, state.errorBytes).catch(() => {});
    errFile = await open(paths.errors, 'a');
    const errOut = errFile;

    const buffer = new RowBuffer(plan, batchSize);
    const every = o.checkpointEveryMs ?? 1000;
    let lastCheckpoint = performance.now();
    let errLines: string[] = [];
    const report = (): void => {
      const secs = (performance.now() - started) / 1000;
      o.onProgress?.({
        rowsDone: state.rowsRead,
        rowsTotal: Math.max(total.rows, state.rowsRead),
        totalExact: total.exact,
        errors: state.errors,
        rowsPerSec: secs > 0 ? (state.rowsRead - resumedFrom) / secs : 0,
        model: mv.model,
        modelVersion: mv.version,
      });
    };
    // The checkpoint records the state as of the cut, once that part is on disk.
    const checkpoint = async (): Promise<void> => {
      await errOut.sync();
      const snapshot = { ...state };
      lastCheckpoint = performance.now();
      await results.cut(async (parts) => {
        state.parts = parts;
        await writeCheckpoint(paths.checkpoint, { ...snapshot, parts });
      });
    };
    const runBuffered = async (): Promise<void> => {
      if (buffer.count > 0) {
        const outputs = await model!.run(buffer.tensors());
        if (results.cols === undefined) await results.init(planOutputs(outputs, mv.signature));
        results.append(buffer.rows, buffer.count, outputs);
        state.rowsWritten += buffer.count;
        buffer.count = 0;
      }
      if (errLines.length > 0) {
        const text = errLines.join('');
        errLines = [];
        await errOut.write(text);
        state.errorBytes += Buffer.byteLength(text);
      }
      if (performance.now() - lastCheckpoint >= every || results.rowsStaged >= MAX_STAGED_ROWS) await checkpoint();
      report();
      if (o.signal?.aborted) {
        await checkpoint();
        await results.settle();
        throw new BatchInterrupted(state.rowsRead);
      }
    };

    const k = plan.columns.length;
    const stream = await reader.stream(rowsSql(readSql(input, inFormat, plan.columns), plan.columns, plan.readTypes, state.rowsRead));
    // DuckDB decodes the next chunk on its own threads while this one runs through the model.
    let next = stream.fetchChunk();
    for (;;) {
      const chunk = await next;
      if (chunk === null || chunk.rowCount === 0) break;
      next = stream.fetchChunk();
      const columns = Array.from({ length: k }, (_, c) => columnValues(chunk.getColumnVector(c)));
      const reasons = chunk.getColumnVector(k);
      const reasonIsNull = isNullAt(reasons);
      const n = chunk.rowCount;
      for (let r = 0; r < n; r++) {
        const rowNumber = ++state.rowsRead;
        if (!reasonIsNull(r)) {
          state.errors++;
          errLines.push(`${JSON.stringify({ row: rowNumber, reason: reasons.getItem(r) })}\n`);
          continue;
        }
        buffer.push(columns, r, rowNumber);
        if (buffer.full) await runBuffered();
      }
      if (errLines.length > 10_000) await runBuffered();
    }
    await runBuffered();
    if (results.cols === undefined) {
      // no good row at all: the output still gets its columns, from the signature
      await results.init(planOutputs(mv.signature.outputs.map((s) => ({ ...s, shape: [-1, ...s.shape.slice(1).map((d) => Math.max(d, 1))] })), mv.signature));
    }
    await checkpoint();

    const tmp = `${output}.berth-tmp-${process.pid}`;
    try {
      await results.assemble(tmp);
      await rename(tmp, output);
    } catch (e) {
      await rm(tmp, { force: true, recursive: true });
      throw e;
    }
    await errOut.close();
    errFile = undefined;
    const seconds = (performance.now() - started) / 1000;
    return {
      model: mv.model,
      modelVersion: mv.version,
      output,
      errorFile: state.errors > 0 ? paths.errors : null,
      rowsRead: state.rowsRead,
      rowsWritten: state.rowsWritten,
      errors: state.errors,
      resumedFrom,
      outputColumns: ['row', ...results.cols!.map((c) => c.name)],
      seconds,
      rowsPerSec: seconds > 0 ? (state.rowsRead - resumedFrom) / seconds : 0,
    };
  } catch (e) {
    if (e instanceof BerthError) throw e;
    const msg = (e as Error).message?.split('\n')[0] ?? String(e);
    if (/Conversion Error|Invalid Input Error|Parser Error|IO Error|CSV Error|JSON/i.test(msg)) {
      throw errors.badRequest(`input '${o.input}' cannot be read: ${msg}`, 'input');
    }
    throw e;
  } finally {
    await sink?.settle().catch(() => {});
    sink?.close();
    await errFile?.close();
    reader.closeSync();
    instance.closeSync();
    await model?.dispose();
  }
}
