import type { Command } from 'commander';
import { type Deployment, type DeploymentsApi, type DeploymentStatusView, openDeployments, RemoteDeployments } from '../../deploy/index.js';
import { errors } from '../../errors.js';
import { type GlobalOptions, optionsOf, withCore } from '../context.js';
import { fail, printJson, printTable } from '../output.js';

/** Runs an action against the remote server (`--server`, BERTH_SERVER) or the local state; errors exit non-zero. */
async function withDeployments(g: GlobalOptions, fn: (x: DeploymentsApi, local: boolean) => Promise<void>): Promise<void> {
  try {
    const server = g.server ?? process.env.BERTH_SERVER;
    if (server) {
      await fn(new RemoteDeployments(server, g.token ?? process.env.BERTH_TOKEN), false);
      return;
    }
    await withCore(g, async (core) => {
      const x = openDeployments({ home: core.config.home, registry: core.registry });
      try {
        await fn(x, true);
      } finally {
        await x.close();
      }
    });
  } catch (e) {
    fail(e, Boolean(g.json));
  }
}

function numberFlag(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const x = /^\s*[0-9]*\.?[0-9]+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(x)) throw errors.badRequest(`${flag} expects a number, got '${value}'`, flag);
  return x;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const secs = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(2)}%`);
const ms = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)} ms`);

/** One line describing a deployment. */
function summary(d: Deployment): string {
  const plan = d.strategy === 'canary' ? `, steps ${d.steps.join(',')} every ${secs(d.step_interval_ms)}` : '';
  const slo = d.strategy === 'shadow' ? '' : `; SLO p95 ${d.slo.p95_ms === null ? 'relative to stable' : `${d.slo.p95_ms} ms`}, errors ${pct(d.slo.error_rate)}, min ${d.slo.min_requests} calls`;
  return `deployment ${d.id}: ${d.strategy} of '${d.model}' version ${d.candidate_version} (stable ${d.stable_version})${plan}${slo}\nstatus: ${d.status}, candidate weight ${d.weight}%${d.reason ? ` (${d.reason})` : ''}\n`;
}

/** Prints a status for humans. */
function printStatus(s: DeploymentStatusView): void {
  process.stdout.write(summary(s));
  if (s.strategy === 'canary' && s.step >= 0) process.stdout.write(`step ${s.step + 1} of ${s.steps.length}, last passed: ${s.passed_step + 1}\n`);
  if (s.recovered_at) process.stdout.write(`recovered after a server restart at ${s.recovered_at}\n`);
  if (s.live) {
    process.stdout.write(`\nwindow since ${s.live.since}\n`);
    printTable(
      ['VERSION', 'ROLE', 'CALLS', 'ERRORS', 'ERROR RATE', 'P95'],
      (
        [
          [s.stable_version, 'stable', s.live.stable],
          [s.candidate_version, 'candidate', s.live.candidate],
        ] as const
      ).map(([v, role, w]) => [String(v), role, String(w.requests), String(w.errors), pct(w.error_rate), ms(w.p95_ms)]),
    );
  }
  const shadow = s.live?.shadow ?? s.shadow;
  if (shadow) {
    process.stdout.write(
      `\nshadow: ${shadow.compared} copies compared, agreement ${pct(shadow.agreement_rate)}, argmax agreement ${pct(shadow.argmax_agreement_rate)}, ` +
        `${shadow.errors} errors, ${shadow.dropped} dropped; p95 stable ${ms(shadow.stable_p95_ms)}, shadow ${ms(shadow.shadow_p95_ms)}\n`,
    );
  }
}

/** `berth deploy MODEL VERSION --strategy …`: starts a rollout (local: recorded for the server, which runs it). */
function deployCommandOnly(program: Command): void {
  program
    .command('deploy <model> <version>')
    .description('roll a version out: blue-green switch, canary steps under an SLO, or shadow traffic')
    .requiredOption('--strategy <strategy>', 'blue-green, canary or shadow')
    .option('--steps <weights>', 'canary: candidate weights in percent, ending at 100', '5,25,50,100')
    .option('--step-interval <duration>', 'canary: time at each step (shadow: time between reports)', '30s')
    .option('--slo-p95-ms <ms>', 'p95 latency ceiling for the candidate, ms')
    .option('--slo-error-rate <rate>', 'largest share of failed calls for the candidate (0..1)', '0.01')
    .option('--min-requests <n>', 'fewest candidate calls in a window before it is judged', '20')
    .option('--webhook <url>', 'POST every event of this deployment here as JSON (repeat)', collect)
    .option('--grace <duration>', 'how long the replaced version stays loaded after the switch', '5m')
    .option('--duration <duration>', 'shadow: stop after this long (default: until rolled back)')
    .option('--warmup-requests <n>', 'inferences that warm the candidate before it takes traffic', '5')
    .option('--json', 'print JSON')
    .action(async (model: string, version: string, _o, cmd: Command) => {
      const o = optionsOf<{
        strategy: string;
        steps: string;
        stepInterval: string;
        sloP95Ms?: string;
        sloErrorRate: string;
        minRequests: string;
        webhook?: string[];
        grace: string;
        duration?: string;
        warmupRequests: string;
      }>(cmd);
      await withDeployments(o, async (x, local) => {
        const p95 = numberFlag(o.sloP95Ms, '--slo-p95-ms');
        const d = await x.create({
          model,
          version,
          strategy: o.strategy,
          steps: o.steps,
          step_interval: o.stepInterval,
          ...(p95 === undefined ? {} : { slo_p95_ms: p95 }),
          slo_error_rate: numberFlag(o.sloErrorRate, '--slo-error-rate') as number,
          min_requests: numberFlag(o.minRequests, '--min-requests') as number,
          webhooks: o.webhook ?? [],
          grace: o.grace,
          ...(o.duration === undefined ? {} : { duration: o.duration }),
          warmup_requests: numberFlag(o.warmupRequests, '--warmup-requests') as number,
        });
        if (o.json) return printJson(d);
        process.stdout.write(summary(d));
        if (local) {
          process.stdout.write(
            'recorded: rollouts run in the server; a `berth serve` over this home starts it within a second (or when it starts).\n' +
              `follow it with \`berth deployments status ${model}\`\n`,
          );
        }
      });
    });
}

/** `berth deployments list|status|events|pause|resume|rollback`. */
function deploymentsCommandOnly(program: Command): void {
  const deployments = program.command('deployments').description('follow and steer rollouts');
  deployments
    .command('list')
    .description('every deployment, newest first')
    .option('--model <model>', 'only this model')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = optionsOf<{ model?: string }>(cmd);
      await withDeployments(o, async (x) => {
        const all = await x.list(o.model);
        if (o.json) return printJson({ deployments: all });
        printTable(
          ['ID', 'MODEL', 'STRATEGY', 'STABLE', 'CANDIDATE', 'STATUS', 'WEIGHT', 'CREATED'],
          all.map((d) => [String(d.id), d.model, d.strategy, String(d.stable_version), String(d.candidate_version), d.status, `${d.weight}%`, d.created_at]),
        );
      });
    });

  deployments
    .command('status <model>')
    .description("the model's newest deployment, with live windows and shadow agreement (from a server)")
    .option('--json', 'print JSON')
    .action(async (model: string, _o, cmd: Command) => {
      const o = optionsOf<object>(cmd);
      await withDeployments(o, async (x) => {
        const s = await x.status(model);
        return o.json ? printJson(s) : printStatus(s);
      });
    });

  deployments
    .command('events <model>')
    .description("the model's deployment event log: alias moves, steps, promotions, rollbacks")
    .option('--json', 'print JSON')
    .action(async (model: string, _o, cmd: Command) => {
      const o = optionsOf<object>(cmd);
      await withDeployments(o, async (x) => {
        const evs = await x.events(model);
        if (o.json) return printJson({ events: evs });
        printTable(['AT', 'DEPLOYMENT', 'EVENT', 'MESSAGE'], evs.map((e) => [e.at, String(e.deployment_id), e.type, e.message]));
      });
    });

  for (const [verb, description] of [
    ['pause', 'hold the rollout at its current weight (the SLO guard keeps watching)'],
    ['resume', 'carry on with a paused rollout'],
    ['rollback', 'send all traffic back to the stable version (after a promotion: champion moves back)'],
  ] as const) {
    deployments
      .command(`${verb} <model>`)
      .description(description)
      .option('--json', 'print JSON')
      .action(async (model: string, _o, cmd: Command) => {
        const o = optionsOf<object>(cmd);
        await withDeployments(o, async (x) => {
          const d = await x[verb](model);
          if (o.json) printJson(d);
          else process.stdout.write(summary(d));
        });
      });
  }
}

/** Registers `berth deploy` and `berth deployments`. */
export function deployCommand(program: Command): void {
  deployCommandOnly(program);
  deploymentsCommandOnly(program);
}
