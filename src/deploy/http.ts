import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';
import type { Deployments } from './service.js';
import type { DeploymentInput } from './types.js';

/** Options of the deployments routes. */
export interface DeploymentsPluginOptions {
  deployments: Deployments;
}

const modelOf = (params: unknown): string => (params as { model: string }).model;
const actorOf = (req: FastifyRequest): string | null => req.berthToken?.name ?? null;

/**
 * `/api/v1/deployments`: GET list, GET /{model} (status) and /{model}/events (role read); POST create
 * and /{model}/pause|resume|rollback (role deploy).
 */
export async function deploymentsPlugin(app: FastifyInstance, opts: DeploymentsPluginOptions): Promise<void> {
  const x = opts.deployments;
  const base = '/api/v1/deployments';

  app.get(base, { config: { role: 'read' } }, async (req) => {
    const model = (req.query as { model?: string }).model;
    return { deployments: await x.list(model || undefined) };
  });

  app.post(base, { config: { role: 'deploy' } }, async (req, reply) => {
    const b = req.body;
    if (typeof b !== 'object' || b === null || Array.isArray(b)) throw errors.badRequest('request body must be a JSON object', 'body');
    const actor = actorOf(req);
    const created = await x.create({ ...(b as DeploymentInput), ...(actor ? { actor } : {}) });
    return reply.code(201).send(created);
  });

  app.get(`${base}/:model`, { config: { role: 'read' } }, async (req) => x.status(modelOf(req.params)));

  app.get(`${base}/:model/events`, { config: { role: 'read' } }, async (req) => {
    const after = Number((req.query as { after?: string }).after ?? 0);
    return { events: await x.events(modelOf(req.params), Number.isFinite(after) ? after : 0) };
  });

  app.post(`${base}/:model/pause`, { config: { role: 'deploy' } }, async (req) => x.pause(modelOf(req.params), actorOf(req)));
  app.post(`${base}/:model/resume`, { config: { role: 'deploy' } }, async (req) => x.resume(modelOf(req.params), actorOf(req)));
  app.post(`${base}/:model/rollback`, { config: { role: 'deploy' } }, async (req) => x.rollback(modelOf(req.params), actorOf(req)));
}
