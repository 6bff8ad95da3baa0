import type { Command } from 'commander';
import { errors, isBerthError } from '../../errors.js';
import { type AnalysisReport, analyzeFile, type MetricKind } from '../../experiments/index.js';
import { sampleSizeTwoProportions } from '../../stats/ab/index.js';
import { optionsOf } from '../context.js';
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

/** `berth experiments …`: offline planning and analysis of A/B tests. */
export function experimentsCommand(program: Command): void {
  const experiments = program.command('experiments').description('plan and analyse A/B experiments');

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
