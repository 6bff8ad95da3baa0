import type { FastifyInstance } from 'fastify';
import { errors } from '../../errors.js';
import { DRIFT_METHODS, type DriftMethod } from '../drift/index.js';
import { parseWindow } from './queries.js';
import type { Monitoring } from './service.js';

/** Options of the monitoring routes. */
export interface MonitoringPluginOptions {
  monitoring: Monitoring;
}

interface Query {
  version?: string;
  window?: string;
  method?: string;
  charts?: string;
}

function windowOf(q: Query): number | undefined {
  if (q.window === undefined) return undefined;
  const ms = parseWindow(q.window);
  if (ms === undefined) throw errors.badRequest(`window must be a duration like 15m, 1h or 30s, got '${q.window}'`, 'window');
  return ms;
}

function methodOf(q: Query): DriftMethod | undefined {
  if (q.method === undefined) return undefined;
  if (!(DRIFT_METHODS as readonly string[]).includes(q.method)) {
    throw errors.badRequest(`method must be one of ${DRIFT_METHODS.join(', ')}, got '${q.method}'`, 'method');
  }
  return q.method as DriftMethod;
}

/**
 * `GET /api/v1/monitoring/{model}/drift` and `/performance` (role read; `?version=`, `?window=15m`,
 * drift also `?method=` and `?charts=1`), and `POST /api/v1/feedback` (role deploy: labels move the
 * accuracy that alerts act on, so a read token handed to a dashboard cannot post them).
 */
export async function monitoringPlugin(app: FastifyInstance, opts: MonitoringPluginOptions): Promise<void> {
  const m = opts.monitoring;
  const modelOf = (params: unknown): string => (params as { model: string }).model;

  app.get('/api/v1/monitoring/:model/drift', { config: { role: 'read' } }, async (req) => {
    const q = req.query as Query;
    return m.drift(modelOf(req.params), {
      version: q.version,
      window: windowOf(q),
      method: methodOf(q),
      charts: q.charts === '1' || q.charts === 'true',
    });
  });

  app.get('/api/v1/monitoring/:model/performance', { config: { role: 'read' } }, async (req) => {
    const q = req.query as Query;
    return m.performance(modelOf(req.params), { version: q.version, window: windowOf(q) });
  });

  app.post('/api/v1/feedback', { config: { role: 'deploy' } }, async (req) => m.feedback(req.body));
}
