import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { BatchInterrupted, type BatchProgress, DEFAULT_BATCH_SIZE, runBatch } from '../../batch/index.js';
import { errors } from '../../errors.js';
import { optionsOf, withCore } from '../context.js';
import { fail, printJson } from '../output.js';

interface BatchFlags {
  input: string;
  output: string;
  batchSize?: string;
  columns?: string;
  resume?: boolean;
}

function batchSizeOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < 1) {
    throw errors.badRequest(`--batch-size must be a positive integer, got '${value}'`, '--batch-size');
  }
  return n;
}

function columnsOf(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw errors.badRequest(`--columns expects comma-separated column names, got '${value}'`, '--columns');
  return names;
}

const LOG_EVERY_MS = 2000;

function eta(p: BatchProgress): string {
  if (p.rowsPerSec <= 0) return '?';
  const s = Math.max(0, (p.rowsTotal - p.rowsDone) / p.rowsPerSec);
  return s < 60 ? `${s.toFixed(0)}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}

/** A progress bar on a terminal; one plain line every two seconds otherwise. */
function progressReporter(): { update(p: BatchProgress): void; stop(): void } {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: '{bar} {percentage}% | {value}/{total} rows | {speed} rows/s | ETA {eta_text} | {errors} bad rows',
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update(p) {
        const payload = { speed: Math.round(p.rowsPerSec).toLocaleString('en-US'), errors: p.errors, eta_text: eta(p) };
        if (!started) {
          bar.start(p.rowsTotal, p.rowsDone, payload);
          started = true;
        }
        bar.setTotal(p.rowsTotal);
        bar.update(p.rowsDone, payload);
      },
      stop: () => bar.stop(),
    };
  }
  let last = 0;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < LOG_EVERY_MS) return;
      last = now;
      const total = `${p.totalExact ? '' : '~'}${p.rowsTotal}`;
      process.stderr.write(
        `batch ${p.model}:${p.modelVersion}: ${p.rowsDone}/${total} rows, ${Math.round(p.rowsPerSec)} rows/s, ETA ${eta(p)}, ${p.errors} bad rows\n`,
      );
    },
    stop() {},
  };
}

/** `berth batch`: runs a registered model over a CSV, JSONL or Parquet file into another. */
export function batchCommand(program: Command): void {
  program
    .command('batch <model>')
    .description('run a model (NAME, NAME:VERSION or NAME@ALIAS) over every row of a CSV, JSONL or Parquet file')
    .requiredOption('--input <file>', 'input rows (.csv with a header row, .jsonl, or .parquet)')
    .requiredOption('--output <file>', 'predictions, one row per good input row (.csv, .jsonl or .parquet)')
    .option('--batch-size <n>', `rows per model run (default ${DEFAULT_BATCH_SIZE})`)
    .option('--columns <a,b>', "input columns in the model's order (default: the reference dataset's, without the label)")
    .option('--resume', 'continue an interrupted run after its last completed chunk')
    .option('--json', 'print the summary as JSON')
    .action(async (ref: string, _opts: BatchFlags, cmd: Command) => {
      const o = optionsOf<BatchFlags>(cmd);
      const progress = o.json ? undefined : progressReporter();
      const abort = new AbortController();
      const onSignal = (): void => abort.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const r = await withCore(o, (core) =>
          runBatch(core, {
            model: ref,
            input: o.input,
            output: o.output,
            batchSize: batchSizeOf(o.batchSize),
            columns: columnsOf(o.columns),
            resume: Boolean(o.resume),
            signal: abort.signal,
            onProgress: progress ? (p) => progress.update(p) : undefined,
          }),
        );
        progress?.stop();
        if (o.json) {
          printJson({
            model: r.model,
            version: r.modelVersion,
            output: r.output,
            rows_read: r.rowsRead,
            rows_written: r.rowsWritten,
            errors: r.errors,
            error_file: r.errorFile,
            resumed_from: r.resumedFrom,
            columns: r.outputColumns,
            seconds: r.seconds,
            rows_per_sec: r.rowsPerSec,
          });
          return;
        }
        const resumed = r.resumedFrom > 0 ? ` (resumed after row ${r.resumedFrom})` : '';
        process.stdout.write(
          `Wrote ${r.rowsWritten} rows to ${r.output} with ${r.model}:${r.modelVersion} in ${r.seconds.toFixed(1)} s (${Math.round(r.rowsPerSec)} rows/s)${resumed}\n`,
        );
        if (r.errors > 0) process.stdout.write(`${r.errors} bad rows skipped: see ${r.errorFile}\n`);
      } catch (e) {
        progress?.stop();
        if (e instanceof BatchInterrupted) {
          process.stderr.write(`${e.message}\n`);
          process.exit(130);
        }
        fail(e, Boolean(o.json));
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
