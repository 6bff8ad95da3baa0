import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { resolveConfig } from '../../config.js';
import { errors } from '../../errors.js';
import { type AlertEvent, type AlertPlanItem, type AlertRule, type AlertsApi, openAlerts, RemoteAlerts } from '../../monitor/alerts/index.js';
import { type GlobalOptions, optionsOf } from '../context.js';
import { fail, printJson, printTable } from '../output.js';

/** Runs an action against the remote server (`--server`, BERTH_SERVER) or the local home; errors exit non-zero. */
async function withAlerts(g: GlobalOptions, fn: (a: AlertsApi) => Promise<void>): Promise<void> {
  try {
    const server = g.server ?? process.env.BERTH_SERVER;
    if (server) {
      await fn(new RemoteAlerts(server, g.token ?? process.env.BERTH_TOKEN));
      return;
    }
    const alerts = openAlerts({ home: resolveConfig({ home: g.home }).home });
    try {
      await fn(alerts);
    } finally {
      await alerts.close();
    }
  } catch (e) {
    fail(e, Boolean(g.json));
  }
}

const SIGN: Record<AlertPlanItem['action'], string> = { create: '+', change: '~', remove: '-', unchanged: ' ' };

function printPlan(plan: AlertPlanItem[], dryRun: boolean): void {
  const changes = plan.filter((p) => p.action !== 'unchanged');
  for (const p of changes) process.stdout.write(`${SIGN[p.action]} ${p.action.padEnd(6)} rule ${p.name}\n`);
  const count = (a: AlertPlanItem['action']) => plan.filter((p) => p.action === a).length;
  const summary = `${count('create')} to create, ${count('change')} to change, ${count('remove')} to remove, ${count('unchanged')} unchanged`;
  if (changes.length === 0) process.stdout.write(`No changes: the applied rules match (${count('unchanged')} rules).\n`);
  else process.stdout.write(dryRun ? `Plan: ${summary}.\n` : `Applied: ${summary}.\n`);
}

const conditionText = (r: AlertRule): string => {
  const c = r.condition;
  return `${c.metric}${c.column !== undefined ? `[${c.column}]` : ''} ${c.op} ${c.value}`;
};

const fmt = (v: number | null): string => (v === null ? '-' : String(Number(v.toPrecision(4))));

function positive(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw errors.badRequest(`${flag} must be a whole number above 0 (got '${text}')`, flag);
  return n;
}

/** `berth alerts apply|list|events`: alert rules from a YAML file, their states and their event history. */
export function alertsCommand(program: Command): void {
  const alerts = program.command('alerts').description('alert rules on drift, accuracy, latency and errors');

  alerts
    .command('apply')
    .description('validate a rules file, print the plan and apply it (idempotent)')
    .argument('<file>', 'YAML rules file (a `rules:` list)')
    .option('--dry-run', 'print the plan without applying it')
    .option('--json', 'print JSON')
    .action(async (file: string, _o, cmd: Command) => {
      const o = optionsOf<{ dryRun?: boolean }>(cmd);
      await withAlerts(o, async (a) => {
        let yaml: string;
        try {
          yaml = await readFile(file, 'utf8');
        } catch (e) {
          throw errors.badRequest(`cannot read rules file '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'FILE');
        }
        const out = await a.apply({ yaml, file: basename(file) }, Boolean(o.dryRun));
        if (o.json) return printJson(out);
        printPlan(out.plan, Boolean(o.dryRun));
      });
    });

  alerts
    .command('list')
    .description('the applied rules and, per model, whether each is pending or firing')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = optionsOf(cmd);
      await withAlerts(o, async (a) => {
        const rules = await a.list();
        if (o.json) return printJson({ rules });
        if (rules.length === 0) {
          process.stdout.write('No alert rules (apply a file with `berth alerts apply FILE`).\n');
          return;
        }
        printTable(
          ['RULE', 'MODEL', 'CONDITION', 'FOR', 'STATE'],
          rules.map((r) => [
            r.name,
            r.model ?? '*',
            conditionText(r),
            r.for,
            r.states.length === 0 ? 'ok' : r.states.map((s) => `${s.state} (${s.model}, ${fmt(s.value)})`).join(', '),
          ]),
        );
      });
    });

  alerts
    .command('events')
    .description('the firing and resolved history, oldest first')
    .option('--rule <name>', 'only this rule')
    .option('--model <name>', 'only this model')
    .option('--limit <n>', 'the last N events (default 100)')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = optionsOf<{ rule?: string; model?: string; limit?: string }>(cmd);
      await withAlerts(o, async (a) => {
        const events: AlertEvent[] = await a.events({ rule: o.rule, model: o.model, limit: positive(o.limit, '--limit') });
        if (o.json) return printJson({ events });
        if (events.length === 0) {
          process.stdout.write('No alert events.\n');
          return;
        }
        printTable(
          ['AT', 'STATE', 'RULE', 'MODEL', 'VERSION', 'METRIC', 'VALUE', 'THRESHOLD'],
          events.map((e) => [
            e.at,
            e.state,
            e.rule,
            e.model,
            e.version === null ? '-' : String(e.version),
            e.column !== undefined ? `${e.metric}[${e.column}]` : e.metric,
            fmt(e.value),
            `${e.op} ${e.threshold}`,
          ]),
        );
      });
    });
}
