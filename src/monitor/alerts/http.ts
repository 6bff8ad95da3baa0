import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import type { AlertService, RulesSource } from './service.js';

export interface AlertsPluginOptions {
  alerts: AlertService;
}

function whole(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw errors.badRequest(`${field} must be a whole number`, field);
  return n;
}

/**
 * `/api/v1/alerts`: GET the rules with their states and GET /events (role read); PUT applies a rules
 * file (`{yaml, file?, dry_run?}` or `{rules: [...], dry_run?}`) and answers with the plan (role deploy).
 */
export async function alertsPlugin(app: FastifyInstance, opts: AlertsPluginOptions): Promise<void> {
  const alerts = opts.alerts;
  const base = '/api/v1/alerts';

  app.get(base, { config: { role: 'read' } }, async () => ({ rules: await alerts.list() }));

  app.put(base, { config: { role: 'deploy' } }, async (req) => {
    const b = req.body;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw errors.badRequest('request body must be a JSON object', 'body');
    const o = b as Record<string, unknown>;
    if (o.dry_run !== undefined && typeof o.dry_run !== 'boolean') throw errors.badRequest('dry_run must be true or false', 'dry_run');
    let source: RulesSource;
    if (typeof o.yaml === 'string') source = { yaml: o.yaml, file: typeof o.file === 'string' ? o.file : 'alerts.yaml' };
    else if (o.rules !== undefined) source = { rules: o.rules };
    else throw errors.badRequest('give the rules file as `yaml` (text) or `rules` (a list)', 'rules');
    return alerts.apply(source, o.dry_run === true);
  });

  app.get(`${base}/events`, { config: { role: 'read' } }, async (req) => {
    const q = req.query as Record<string, string | undefined>;
    return { events: await alerts.events({ rule: q.rule, model: q.model, after: whole(q.after, 'after'), limit: whole(q.limit, 'limit') }) };
  });
}
