import type { Command } from 'commander';
import { errors, isBerthError } from '../../errors.js';
import {
  type AnalysisReport,
  analyzeFile,
  type Experiment,
  type ExperimentReport,
  type ExperimentsApi,
  type MetricKind,
  openExperiments,
  RemoteExperiments,
} from '../../experiments/index.js';
import { sampleSizeTwoProportions } from '../../stats/ab/index.js';
import { type GlobalOptions, optionsOf, withCore } from '../context.js';
import { fail, printJson, printTable } from '../output.js';

/** Parses a numeric flag strictly; anything else is a usage error naming the flag. */
function numberFlag(value: string | undefined, flag: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw errors.badRequest(`${flag} is required`, flag);
  }
  const x = /^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)(e[-+]?[0-9]+)?\s*$/i.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(x)) throw errors.badRequest(`${flag} expects a number, got '${value}'`, flag);
  return x;
}

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toPrecision(6).replace(/\.?0+(e|$)/, '$1'));
const fmtP = (p: number): string => (p < 1e-4 ? p.toExponential(2) : p.toFixed(4));

/** Prints the analysis for humans. */
function printAnalysis(r: AnalysisReport, alpha: number): void {
  process.stdout.write(`${r.kind} metric, control '${r.control}', alpha ${alpha}\n\n`);
  printTable(
    ['VARIANT', 'N', 'MEAN', 'STD'],
    r.variants.map((v) => [v.name, String(v.n), fmt(v.mean), fmt(v.std)]),
  );
  process.stdout.write('\n');
  const level = `${fmt(100 * (1 - alpha))}% CI`;
  printTable(
    ['VARIANT', 'DIFFERENCE', level, 'TEST', 'STATISTIC', 'P-VALUE', 'SIGNIFICANT'],
    r.comparisons.map((c) => [
      c.variant,
      fmt(c.difference),
      `[${fmt(c.ci_low)}, ${fmt(c.ci_high)}]`,
      c.test,
      fmt(c.statistic),
      fmtP(c.p_value),
      c.significant ? 'yes' : 'no',
    ]),
  );
  const srm = r.srm_p_value < 0.001 ? '  (sample ratio mismatch: the split is not what was intended)' : '';
  process.stdout.write(`\nsample-ratio-mismatch p-value: ${fmtP(r.srm_p_value)}${srm}\n`);
}

/** Runs an action against the remote server (`--server`, BERTH_SERVER) or the local state; errors exit non-zero. */
async function withExperiments(g: GlobalOptions, fn: (x: ExperimentsApi) => Promise<void>): Promise<void> {
  try {
    const server = g.server ?? process.env.BERTH_SERVER;
    if (server) {
      await fn(new RemoteExperiments(server, g.token ?? process.env.BERTH_TOKEN));
      return;
    }
    await withCore(g, async (core) => {
      const x = await openExperiments({ home: core.config.home, registry: core.registry });
      try {
        await fn(x);
      } finally {
        await x.close();
      }
    });
  } catch (e) {
    fail(e, Boolean(g.json));
  }
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Prints one experiment for humans. */
function printExperiment(e: Experiment): void {
  process.stdout.write(
    `${e.name}: ${e.status}, model '${e.model}', unit header '${e.unit_header}', ${e.metric} metric, alpha ${e.alpha}` +
      `${e.mde === null ? '' : `, mde ${e.mde}, power ${e.power}`}\n\n`,
  );
  const total = e.variants.reduce((s, v) => s + v.weight, 0);
  printTable(
    ['VARIANT', 'MODEL', 'VERSION', 'SHARE'],
    e.variants.map((v) => [
      v.name + (v.name === e.control && v.name !== 'control' ? ' (control)' : ''),
      v.model,
      String(v.version),
      `${fmt((100 * v.weight) / total)}%`,
    ]),
  );
}

const VERDICT_TEXT: Record<string, string> = {
  treatment_better: 'better',
  treatment_worse: 'worse',
  no_difference_detected: 'no difference detected',
  keep_running: 'keep running',
};

/** Prints a live report for humans. */
function printReport(r: ExperimentReport): void {
  process.stdout.write(`${r.name} (${r.status}): ${r.metric} metric, control '${r.control}', alpha ${r.alpha}\n\n`);
  printTable(
    ['VARIANT', 'VERSION', 'N', 'MEAN', 'STD'],
    r.variants.map((v) => [v.name, `${v.model}:${v.version}`, String(v.n), fmt(v.mean), fmt(v.std)]),
  );
  if (r.note) {
    process.stdout.write(`\n${r.note}\n`);
    return;
  }
  process.stdout.write('\n');
  printTable(
    ['VARIANT', 'DIFFERENCE', `${fmt(100 * (1 - r.alpha))}% CI`, 'TEST', 'STATISTIC', 'P-VALUE', 'ALWAYS-VALID P', 'VERDICT'],
    r.comparisons.map((c) => [
      c.variant,
      fmt(c.difference),
      `[${fmt(c.ci_low)}, ${fmt(c.ci_high)}]`,
      c.test,
      fmt(c.statistic),
      fmtP(c.p_value),
      fmtP(c.msprt_p_value),
      (VERDICT_TEXT[c.verdict] ?? c.verdict) +
        (c.remaining_per_arm === undefined ? '' : ` (${c.remaining_per_arm} more per arm)`),
    ]),
  );
  const srm = r.srm_p_value !== null && r.srm_p_value < 0.001 ? '  (sample ratio mismatch: the split is not what was intended)' : '';
  process.stdout.write(`\nsample-ratio-mismatch p-value: ${r.srm_p_value === null ? '-' : fmtP(r.srm_p_value)}${srm}\n`);
}

/** `berth experiments create|list|show|stop|report`: server-side experiments, local or remote. */
function liveCommands(experiments: Command): void {
  experiments
    .command('create <name>')
    .description('start an A/B experiment splitting unversioned requests for a model between versions')
    .requiredOption('--model <model>', 'the model whose requests are split')
    .requiredOption('--variant <name=MODEL:VERSION>', 'a variant and the version serving it (repeat; MODEL@alias is pinned now)', collect)
    .option('--split <weights>', 'weights in variant order (e.g. 50,50) or name=weight pairs; equal by default')
    .requiredOption('--unit <source>', 'where the unit id comes from: header:NAME (e.g. header:x-user-id)')
    .requiredOption('--metric <kind>', 'binary (conversion; z-test) or continuous (e.g. revenue; Welch t-test)')
    .option('--alpha <a>', 'significance level', '0.05')
    .option('--mde <d>', 'minimum detectable effect, absolute, for the sample size still needed')
    .option('--power <p>', 'power at the minimum detectable effect', '0.8')
    .option('--control <name>', "the control variant (default: 'control', else the first)")
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      const o = optionsOf<{
        model: string;
        variant: string[];
        split?: string;
        unit: string;
        metric: string;
        alpha: string;
        mde?: string;
        power: string;
        control?: string;
      }>(cmd);
      await withExperiments(o, async (x) => {
        const e = await x.create({
          name,
          model: o.model,
          variants: o.variant,
          split: o.split,
          unit: o.unit,
          metric: o.metric as MetricKind,
          alpha: numberFlag(o.alpha, '--alpha'),
          power: numberFlag(o.power, '--power'),
          ...(o.mde === undefined ? {} : { mde: numberFlag(o.mde, '--mde') }),
          ...(o.control === undefined ? {} : { control: o.control }),
        });
        if (o.json) printJson(e);
        else printExperiment(e);
      });
    });

  experiments
    .command('list')
    .description('list experiments')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = optionsOf<object>(cmd);
      await withExperiments(o, async (x) => {
        const all = await x.list();
        if (o.json) return printJson({ experiments: all });
        printTable(
          ['NAME', 'STATUS', 'MODEL', 'METRIC', 'VARIANTS', 'CREATED'],
          all.map((e) => [e.name, e.status, e.model, e.metric, e.variants.map((v) => `${v.name}=${v.model}:${v.version}`).join(' '), e.created_at]),
        );
      });
    });

  for (const [verb, description] of [
    ['show', 'show an experiment'],
    ['stop', 'stop assigning new units (late outcomes for units already in still count)'],
    ['report', 'per-variant results, tests against the control, the always-valid p-value, SRM check and verdict'],
  ] as const) {
    experiments
      .command(`${verb} <name>`)
      .description(description)
      .option('--json', 'print JSON')
      .action(async (name: string, _o, cmd: Command) => {
        const o = optionsOf<object>(cmd);
        await withExperiments(o, async (x) => {
          if (verb === 'report') {
            const r = await x.report(name);
            return o.json ? printJson(r) : printReport(r);
          }
          const e = verb === 'show' ? await x.show(name) : await x.stop(name);
          return o.json ? printJson(e) : printExperiment(e);
        });
      });
  }
}

/** `berth experiments …`: planning, offline analysis and server-side A/B experiments. */
export function experimentsCommand(program: Command): void {
  const experiments = program.command('experiments').description('plan, run and analyse A/B experiments');
  liveCommands(experiments);

  experiments
    .command('plan')
    .description('sample size per arm for a two-proportion A/B test (mde is absolute: 0.01 = one percentage point)')
    .requiredOption('--baseline <p>', "the control's conversion rate, e.g. 0.10")
    .requiredOption('--mde <d>', 'minimum detectable effect, absolute (treatment = baseline + mde), e.g. 0.02')
    .option('--alpha <a>', 'significance level (two-sided)', '0.05')
    .option('--power <p>', 'power: the chance of detecting an effect of size mde', '0.8')
    .option('--json', 'print JSON')
    .action((_o, cmd: Command) => {
      const o = optionsOf<{ baseline: string; mde: string; alpha: string; power: string }>(cmd);
      try {
        const plan = {
          baseline: numberFlag(o.baseline, '--baseline'),
          mde: numberFlag(o.mde, '--mde'),
          alpha: numberFlag(o.alpha, '--alpha'),
          power: numberFlag(o.power, '--power'),
        };
        let n: number;
        try {
          n = sampleSizeTwoProportions(plan);
        } catch (e) {
          throw isBerthError(e) && e.field ? errors.badRequest(`--${e.field}: ${e.message}`, `--${e.field}`) : e;
        }
        if (o.json) printJson({ ...plan, sample_size_per_arm: n });
        else {
          process.stdout.write(
            `${n} per arm (${2 * n} in total) to detect ${plan.baseline} -> ${fmt(plan.baseline + plan.mde)} ` +
              `with alpha ${plan.alpha} (two-sided) and power ${plan.power}\n`,
          );
        }
      } catch (e) {
        fail(e, Boolean(o.json));
      }
    });

  experiments
    .command('analyze')
    .description('analyse an exported A/B test (CSV with a header row, JSON lines or Parquet)')
    .requiredOption('--input <file>', 'the data, one row per unit: .csv (header row), .jsonl/.ndjson or .parquet')
    .requiredOption('--variant-column <name>', 'column holding the variant name')
    .requiredOption('--value-column <name>', 'column holding the outcome')
    .requiredOption('--kind <kind>', 'binary (0/1, true/false; two-proportion z-test) or continuous (Welch t-test)')
    .option('--control <name>', "the control variant (default: 'control' if present, else the first name in sorted order)")
    .option('--split <weights>', 'intended split, in the printed variant order (control first) or as name=weight pairs', undefined)
    .option('--alpha <a>', 'significance level; intervals are at 1 - alpha', '0.05')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = optionsOf<{
        input: string;
        variantColumn: string;
        valueColumn: string;
        kind: string;
        control?: string;
        split?: string;
        alpha: string;
      }>(cmd);
      try {
        if (o.kind !== 'binary' && o.kind !== 'continuous') {
          throw errors.badRequest(`--kind must be binary or continuous, got '${o.kind}'`, '--kind');
        }
        const alpha = numberFlag(o.alpha, '--alpha');
        if (!(alpha > 0 && alpha < 1)) throw errors.badRequest(`--alpha must be between 0 and 1, got ${o.alpha}`, '--alpha');
        const report = await analyzeFile({
          input: o.input,
          variantColumn: o.variantColumn,
          valueColumn: o.valueColumn,
          kind: o.kind as MetricKind,
          control: o.control,
          split: o.split,
          alpha,
        });
        if (o.json) printJson(report);
        else printAnalysis(report, alpha);
      } catch (e) {
        fail(e, Boolean(o.json));
      }
    });
}
