import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ApiClient } from '../../api/index.js';
import { errors, isBerthError } from '../../errors.js';
import {
  type LiveDriftReport,
  monitorReport,
  type PerformanceReport,
  parseWindow,
  renderMonitorHtml,
  windowFlag,
} from '../../monitor/index.js';
import { optionsOf, withCore } from '../context.js';
import { fail, printJson, printTable } from '../output.js';

interface ReportFlags {
  window?: string;
  version?: string;
  html?: string;
}

type Drift = LiveDriftReport & { charts?: LiveDriftReport['charts'] };

const show = (x: number | null): string => (x === null ? '-' : Math.abs(x) < 1e-4 && x !== 0 ? x.toExponential(3) : x.toFixed(4));

/** Reads the report from a server's monitoring API (the drift charts included). */
async function remoteReport(server: string, token: string | undefined, model: string, windowMs: number | undefined, version: string | undefined) {
  const client = new ApiClient(server, token);
  const q = new URLSearchParams();
  if (windowMs !== undefined) q.set('window', `${Math.round(windowMs / 1000)}s`);
  if (version !== undefined) q.set('version', version);
  const base = `/api/v1/monitoring/${encodeURIComponent(model)}`;
  const performance = await client.call<PerformanceReport>('GET', `${base}/performance?${q}`);
  q.set('version', String(performance.version));
  q.set('charts', '1');
  let drift: Drift | undefined;
  try {
    drift = await client.call<Drift>('GET', `${base}/drift?${q}`);
  } catch (e) {
    // a version without a reference dataset still has accuracy and latency to report
    if (!(isBerthError(e) && e.status === 404)) throw e;
  }
  return { drift, performance };
}

/** `berth monitor report`: live traffic against the reference, with accuracy and latency over time. */
export function monitorCommand(program: Command): void {
  const monitor = program.command('monitor').description('live monitoring of served models: drift, delayed-label accuracy, latency');
  monitor
    .command('report')
    .description('report drift of the logged traffic against the reference, plus accuracy and latency over time (local prediction log, or --server)')
    .argument('<model>', 'model name')
    .option('--window <duration>', 'how far back to look, e.g. 15m, 1h, 1d (default 1h)')
    .option('--version <n>', 'model version (default: the newest version in the window)')
    .option('--html <file>', 'write a self-contained HTML report')
    .option('--json', 'print the drift and performance reports as JSON')
    .action(async (model: string, _o, cmd: Command) => {
      const o = optionsOf<ReportFlags>(cmd);
      try {
        if (o.version !== undefined && !/^[1-9][0-9]{0,9}$/.test(o.version)) throw errors.badRequest(`--version must be a positive integer, got '${o.version}'`, '--version');
        const server = o.server ?? process.env.BERTH_SERVER;
        const { drift, performance } = server
          ? await remoteReport(server, o.token ?? process.env.BERTH_TOKEN, model, o.window === undefined ? undefined : windowFlag(o.window, parseWindow, 3_600_000), o.version)
          : await withCore(o, (core) =>
              monitorReport({
                home: core.config.home,
                registry: core.registry,
                runtime: core.runtime,
                model,
                version: o.version === undefined ? undefined : Number(o.version),
                windowMs: windowFlag(o.window, parseWindow, 3_600_000),
              }),
            );
        if (o.html !== undefined) {
          try {
            await writeFile(o.html, renderMonitorHtml(model, drift, performance));
          } catch (e) {
            throw errors.badRequest(`cannot write --html file '${o.html}': ${(e as Error).message}`, '--html');
          }
        }
        if (o.json) {
          const { charts: _charts, ...driftJson } = drift ?? { charts: undefined };
          printJson({ drift: drift ? driftJson : null, performance });
          return;
        }
        if (drift) {
          printTable(
            ['COLUMN', 'KIND', 'METHOD', 'STATISTIC', 'P-VALUE', 'DRIFT'],
            drift.columns.map((c) => [c.column, c.kind, c.method, show(c.statistic), show(c.p_value), c.drift ? 'yes' : 'no']),
          );
          process.stdout.write(
            `\n${model}:${drift.version}, last ${drift.window}: ${drift.rows} rows, ${drift.drifted_columns} of ${drift.columns.length} columns drifted: ${drift.dataset_drift ? 'dataset drift' : 'no dataset drift'}\n`,
          );
        } else {
          process.stdout.write(`${model}:${performance.version} has no reference dataset: no drift to report\n`);
        }
        const pct = (v: number | null): string => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
        process.stdout.write(
          `requests ${performance.requests}, errors ${performance.errors}, p95 latency ${performance.latency_p95 === null ? '-' : `${(performance.latency_p95 * 1000).toFixed(2)} ms`}, ` +
            `labeled ${performance.labeled}, accuracy ${pct(performance.accuracy)}${performance.mae !== null ? `, MAE ${show(performance.mae)}, RMSE ${show(performance.rmse)}` : ''}\n`,
        );
        if (o.html !== undefined) process.stdout.write(`HTML report written to ${o.html}\n`);
      } catch (e) {
        fail(e, Boolean(o.json));
      }
    });
}
