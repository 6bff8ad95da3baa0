import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';
import type { Experiments } from './service.js';
import type { ExperimentInput } from './types.js';

/** Options of the experiments routes. */
export interface ExperimentsPluginOptions {
  experiments: Experiments;
}

const nameOf = (params: unknown): string => (params as { name: string }).name;

/**
 * `/api/v1/experiments`: GET list and GET /{name}, /{name}/report (role read); POST create,
 * /{name}/stop and /{name}/outcomes (role deploy: outcomes move verdicts, so a read token handed to
 * a dashboard cannot post them).
 */
export async function experimentsPlugin(app: FastifyInstance, opts: ExperimentsPluginOptions): Promise<void> {
  const x = opts.experiments;
  const base = '/api/v1/experiments';

  app.get(base, { config: { role: 'read' } }, async () => ({ experiments: await x.list() }));

  app.post(base, { config: { role: 'deploy' } }, async (req, reply) => {
    const b = req.body;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw errors.badRequest('request body must be a JSON object', 'body');
    const created = await x.create(b as ExperimentInput);
    return reply.code(201).send(created);
  });

  app.get(`${base}/:name`, { config: { role: 'read' } }, async (req) => x.show(nameOf(req.params)));

  app.post(`${base}/:name/stop`, { config: { role: 'deploy' } }, async (req) => x.stop(nameOf(req.params)));

  app.get(`${base}/:name/report`, { config: { role: 'read' } }, async (req) => x.report(nameOf(req.params)));

  app.post(`${base}/:name/outcomes`, { config: { role: 'deploy' } }, async (req) => x.recordOutcomes(nameOf(req.params), req.body));
}
