import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { errors } from '../../errors.js';
import { DRIFT_METHODS, type DriftMethod, driftReport, renderDriftHtml } from '../../monitor/drift/index.js';
import { fail, printJson, printTable } from '../output.js';

interface DriftFlags {
  reference: string;
  current: string;
  columns?: string;
  categorical?: string;
  method?: string;
  driftShare?: string;
  html?: string;
}

/** Splits a comma-separated column list; empty names are a usage error naming the flag. */
function columnList(value: string | undefined, flag: string): string[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw errors.badRequest(`${flag} expects comma-separated column names, got '${value}'`, flag);
  return names;
}

function methodOf(value: string | undefined): DriftMethod | undefined {
  if (value === undefined) return undefined;
  if (!(DRIFT_METHODS as readonly string[]).includes(value)) {
    throw errors.badRequest(`--method must be one of ${DRIFT_METHODS.join(', ')}, got '${value}'`, '--method');
  }
  return value as DriftMethod;
}

function shareOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1) {
    throw errors.badRequest(`--drift-share must be a number in (0, 1], got '${value}'`, '--drift-share');
  }
  return n;
}

const show = (x: number | null): string => (x === null ? '-' : Math.abs(x) < 1e-4 && x !== 0 ? x.toExponential(3) : x.toFixed(4));

/** `berth drift`: compares a current dataset with a reference, column by column. */
export function driftCommand(program: Command): void {
  program
    .command('drift')
    .description('compare a current dataset with a reference (CSV or Parquet), column by column')
    .requiredOption('--reference <file>', 'reference dataset (CSV with a header row, or Parquet)')
    .requiredOption('--current <file>', 'current dataset (CSV with a header row, or Parquet)')
    .option('--columns <a,b>', 'columns to compare (default: every reference column)')
    .option('--categorical <c,d>', 'columns to treat as categorical whatever their type')
    .option('--method <m>', `auto (default), ${DRIFT_METHODS.filter((m) => m !== 'auto').join(', ')}`)
    .option('--drift-share <x>', 'share of drifted columns at which the dataset drifts (default 0.5)')
    .option('--html <file>', 'also write a self-contained HTML report')
    .option('--json', 'print the report as JSON')
    .action(async (_opts: DriftFlags, cmd: Command) => {
      // not optionsOf from ../context.js: that module loads the whole core (ONNX Runtime included) at start-up
      const o = cmd.optsWithGlobals<DriftFlags & { json?: boolean }>();
      try {
        const result = await driftReport({
          reference: o.reference,
          current: o.current,
          columns: columnList(o.columns, '--columns'),
          categorical: columnList(o.categorical, '--categorical'),
          method: methodOf(o.method),
          driftShare: shareOf(o.driftShare),
        });
        if (o.html !== undefined) {
          try {
            await writeFile(o.html, renderDriftHtml(result));
          } catch (e) {
            throw errors.badRequest(`cannot write --html file '${o.html}': ${(e as Error).message}`, '--html');
          }
        }
        const r = result.report;
        if (o.json) {
          printJson(r);
          return;
        }
        printTable(
          ['COLUMN', 'KIND', 'METHOD', 'STATISTIC', 'P-VALUE', 'THRESHOLD', 'DRIFT', 'MISSING (REF/CUR)'],
          r.columns.map((c) => [
            c.column,
            c.kind,
            c.method,
            show(c.statistic),
            show(c.p_value),
            String(c.threshold),
            c.drift ? 'yes' : 'no',
            `${c.missing_reference}/${c.missing_current}`,
          ]),
        );
        process.stdout.write(
          `\n${r.drifted_columns} of ${r.columns.length} columns drifted (${(r.drift_share * 100).toFixed(1)}%, threshold ${(result.driftShareThreshold * 100).toFixed(0)}%): ${r.dataset_drift ? 'dataset drift' : 'no dataset drift'}` +
            ` (reference ${r.reference_rows} rows, current ${r.current_rows} rows)\n`,
        );
        const requested = methodOf(o.method);
        const other = r.columns.filter((c) => requested !== undefined && requested !== 'auto' && c.method !== requested);
        if (other.length > 0) {
          process.stdout.write(
            `note: --method ${requested} does not apply to ${other.map((c) => `${c.kind} column '${c.column}'`).join(', ')}; auto's choice was used there\n`,
          );
        }
        if (o.html !== undefined) process.stdout.write(`HTML report written to ${o.html}\n`);
      } catch (e) {
        fail(e, Boolean(o.json));
      }
    });
}
