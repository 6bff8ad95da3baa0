import { extname } from 'node:path';
import type { Command } from 'commander';
import { resolveConfig } from '../../config.js';
import { errors } from '../../errors.js';
import { type FeatureStore, type MaterializeReport, openFeatureStore, parseTime, type PlanItem } from '../../features/index.js';
import { type GlobalOptions, optionsOf } from '../context.js';
import { fail, printJson, printTable } from '../output.js';

interface FeatureOptions {
  onlineStore?: string;
}

/** Opens the feature store under the configured home, runs `fn`, reports errors once. */
async function withFeatures(o: GlobalOptions & FeatureOptions, fn: (fs: FeatureStore) => Promise<void>): Promise<void> {
  let store: FeatureStore | undefined;
  try {
    store = openFeatureStore({ home: resolveConfig({ home: o.home }).home, onlineStore: o.onlineStore });
    await fn(store);
    await store.close();
  } catch (e) {
    await store?.close().catch(() => {});
    fail(e, Boolean(o.json));
  }
}

/** A CLI time: ISO 8601 (UTC unless it says otherwise), epoch seconds, or `now`. */
function cliTime(text: string, flag: string): number {
  if (text === 'now') return Date.now();
  const t = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : parseTime(text);
  if (t === undefined) throw errors.badRequest(`${flag} must be an ISO 8601 time (2026-01-01T00:00:00Z), epoch seconds or 'now' (got '${text}')`, flag);
  return t;
}

const SIGN: Record<PlanItem['action'], string> = { create: '+', change: '~', remove: '-', unchanged: ' ' };

function printPlan(plan: PlanItem[], dryRun: boolean): void {
  const changes = plan.filter((p) => p.action !== 'unchanged');
  for (const p of changes) process.stdout.write(`${SIGN[p.action]} ${p.action.padEnd(6)} ${p.kind} ${p.name}\n`);
  const count = (a: PlanItem['action']) => plan.filter((p) => p.action === a).length;
  const summary = `${count('create')} to create, ${count('change')} to change, ${count('remove')} to remove, ${count('unchanged')} unchanged`;
  if (changes.length === 0) process.stdout.write(`No changes: the applied definitions match (${count('unchanged')} objects).\n`);
  else process.stdout.write(dryRun ? `Plan: ${summary}.\n` : `Applied: ${summary}.\n`);
}

/** A progress bar per view on stderr (redrawn in place on a terminal, one line each otherwise). */
function progressBar(enabled: boolean) {
  const tty = process.stderr.isTTY === true;
  return (view: string, written: number, total: number, done: boolean) => {
    if (!enabled || (!tty && !done)) return;
    const frac = done ? 1 : total > 0 ? Math.min(1, written / total) : 0;
    const width = 30;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    process.stderr.write(`${tty ? '\r' : ''}${view.padEnd(24)} [${bar}] ${String(Math.round(frac * 100)).padStart(3)}% ${written} rows${done ? '\n' : ''}`);
  };
}

function printReports(reports: MaterializeReport[], json: boolean): void {
  if (json) {
    printJson(reports);
    return;
  }
  printTable(
    ['VIEW', 'START', 'END', 'ROWS', 'MS'],
    reports.map((r) => [r.view, r.start, r.end, String(r.rows), String(r.ms)]),
  );
}

/** `berth features …`: apply definitions, build training sets, materialize to the online store. */
export function featuresCommand(program: Command): void {
  const features = program.command('features').description('feature store: definitions, training sets, materialization');

  features
    .command('apply')
    .description('validate a definitions file, print the plan and apply it (idempotent)')
    .argument('<file>', 'YAML definitions (entities, sources, feature_views, feature_services)')
    .option('--dry-run', 'print the plan without applying it')
    .option('--online-store <uri>', 'online store (sqlite://PATH or redis://HOST:PORT; env BERTH_ONLINE_STORE)')
    .option('--json', 'print JSON')
    .action(async (file: string, _o, cmd: Command) => {
      const o = optionsOf<FeatureOptions & { dryRun?: boolean }>(cmd);
      await withFeatures(o, async (fs) => {
        const plan = o.dryRun ? await fs.plan(file) : (await fs.apply(file)).plan;
        if (o.json) return printJson({ applied: !o.dryRun, plan });
        printPlan(plan, Boolean(o.dryRun));
      });
    });

  features
    .command('historical')
    .description('build a point-in-time correct training set from an entity file')
    .requiredOption('--entities <file>', 'Parquet or CSV with the join keys and event_timestamp')
    .option('--features <list>', "comma-separated 'view:feature' list")
    .option('--service <name>', 'a feature service instead of --features')
    .requiredOption('--output <file>', 'where to write the training set (.parquet or .csv)')
    .option('--full-feature-names', 'name columns view__feature')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = optionsOf<FeatureOptions & { entities: string; features?: string; service?: string; output: string; fullFeatureNames?: boolean }>(cmd);
      await withFeatures(o, async (fs) => {
        const ext = extname(o.output).toLowerCase();
        if (ext !== '.csv' && ext !== '.parquet') throw errors.badRequest(`--output must end in .parquet or .csv (got '${o.output}')`, '--output');
        if (o.features === undefined && o.service === undefined) throw errors.badRequest('give --features view:f,... or --service NAME', '--features');
        const t0 = performance.now();
        const r = await fs.historical({
          entities: o.entities,
          features: o.features?.split(',').map((s) => s.trim()),
          service: o.service,
          fullFeatureNames: Boolean(o.fullFeatureNames),
          output: o.output,
        });
        const ms = Math.round(performance.now() - t0);
        if (o.json) return printJson({ output: o.output, rows: r.rows, columns: r.columns, ms });
        process.stdout.write(`Wrote ${r.rows} rows (${r.columns.join(', ')}) to ${o.output} in ${ms} ms\n`);
      });
    });

  features
    .command('materialize')
    .description('copy the latest value per entity with event time in [start, end] to the online store')
    .requiredOption('--start <time>', 'ISO 8601 time, epoch seconds or now')
    .requiredOption('--end <time>', 'ISO 8601 time, epoch seconds or now')
    .option('--views <list>', 'comma-separated feature views (default all)')
    .option('--online-store <uri>', 'online store (sqlite://PATH or redis://HOST:PORT; env BERTH_ONLINE_STORE)')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = optionsOf<FeatureOptions & { start: string; end: string; views?: string }>(cmd);
      await withFeatures(o, async (fs) => {
        const start = cliTime(o.start, '--start');
        const end = cliTime(o.end, '--end');
        const reports = await fs.materialize(start, end, { views: o.views?.split(','), progress: progressBar(!o.json) });
        printReports(reports, Boolean(o.json));
      });
    });

  features
    .command('materialize-incremental')
    .description('materialize each view from where its last run ended up to --end')
    .requiredOption('--end <time>', 'ISO 8601 time, epoch seconds or now')
    .option('--views <list>', 'comma-separated feature views (default all)')
    .option('--online-store <uri>', 'online store (sqlite://PATH or redis://HOST:PORT; env BERTH_ONLINE_STORE)')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = optionsOf<FeatureOptions & { end: string; views?: string }>(cmd);
      await withFeatures(o, async (fs) => {
        const reports = await fs.materializeIncremental(cliTime(o.end, '--end'), { views: o.views?.split(','), progress: progressBar(!o.json) });
        printReports(reports, Boolean(o.json));
      });
    });
}
