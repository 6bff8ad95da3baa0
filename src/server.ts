import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import pino, { type Logger } from 'pino';
import { managementPlugin } from './api/index.js';
import { type ApiToken, bearerSecret, type Role } from './auth/index.js';
import type { BerthCore } from './core.js';
import { BerthError, errors } from './errors.js';
import { ServerMetrics } from './monitor/metrics.js';
import { ModelManager } from './serving/models.js';
import { v2RestPlugin } from './serving/rest.js';
import { VERSION } from './version.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The role a route needs; null for public routes (health). */
    role?: Role | null;
  }
  interface FastifyRequest {
    berthToken?: ApiToken;
  }
}

export interface ServerOptions {
  host?: string;
  port?: number;
  /** Largest inference request body, in bytes (default 16 MiB). */
  bodyLimit?: number;
  /** Largest model upload through the management API, in bytes (default 1 GiB). */
  uploadLimit?: number;
  logger?: Logger;
  /** Load every model's default version before reporting ready (default true). */
  preload?: boolean;
  /** Default Prometheus process metrics (default true). */
  defaultMetrics?: boolean;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  models: ModelManager;
  metrics: ServerMetrics;
  authRequired: () => Promise<boolean>;
  close(): Promise<void>;
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const AUTH_RECHECK_MS = 2_000;

/** Assembles the plugins into one server, checks the auth rule for its address, and listens. */
export async function startServer(core: BerthCore, opts: ServerOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8000;
  const log = opts.logger ?? pino({ level: 'info' });
  const metrics = new ServerMetrics({ defaultMetrics: opts.defaultMetrics });
  const models = new ModelManager(core.registry, core.runtime, metrics, log);
  core.onChange(() => models.invalidate());

  const loopback = isLoopback(host);
  let authOn = await core.tokens.any();
  let authCheckedAt = Date.now();
  if (!loopback && !authOn) {
    throw new BerthError(
      'CONFLICT',
      `refusing to listen on ${host} without API tokens: anyone who can reach it could use it. ` +
        'Create one with `berth tokens create --role admin`, or bind to 127.0.0.1.',
    );
  }
  const authRequired = async (): Promise<boolean> => {
    if (!loopback) return true;
    if (authOn) return true; // once on, stays on for this process
    if (Date.now() - authCheckedAt > AUTH_RECHECK_MS) {
      authOn = await core.tokens.any();
      authCheckedAt = Date.now();
    }
    return authOn;
  };

  const prefix = randomBytes(4).toString('hex');
  let seq = 0;
  const app: FastifyInstance = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // one debug line per request comes from the onResponse hook below
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024,
    onProtoPoisoning: 'ignore', // bodies are read field by field, never merged into objects
    onConstructorPoisoning: 'ignore',
    requestIdHeader: 'x-request-id',
    genReqId: () => `${prefix}-${(++seq).toString(36)}`,
    return503OnClosing: true,
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
    const role = req.routeOptions.config?.role;
    if (!role || !(await authRequired())) return;
    req.berthToken = await core.tokens.authorize(bearerSecret(req.headers.authorization), role);
    if (role !== 'read') authCheckedAt = 0;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.httpDuration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    if (log.isLevelEnabled('debug')) {
      log.debug(
        { request_id: req.id, method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime },
        'request',
      );
    }
  });

  app.setErrorHandler((err: FastifyError | BerthError, req, reply) => {
    let status: number;
    let message: string;
    let code: string;
    if (err instanceof BerthError) {
      status = err.status;
      message = err.message;
      code = err.code;
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      message = `request body is larger than the limit of ${req.routeOptions.bodyLimit ?? opts.bodyLimit} bytes`;
      code = 'BERTH_E_PAYLOAD_TOO_LARGE';
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      message = err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError ? `request body is not valid JSON: ${err.message}` : err.message;
      code = 'BERTH_E_BAD_REQUEST';
    } else {
      status = 500;
      message = 'internal error';
      code = 'BERTH_E_INTERNAL';
    }
    if (status >= 500) req.log.error({ request_id: req.id, err }, 'request failed');
    else req.log.info({ request_id: req.id, status, error: message }, 'request refused');
    if (status === 503) reply.header('retry-after', '1');
    const body = req.url.startsWith('/api/') ? { error: message, code } : { error: message };
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req) => {
    throw errors.notFound(`no route for ${req.method} ${req.url.split('?')[0]}`);
  });

  let ready = false;
  await app.register(v2RestPlugin, {
    registry: core.registry,
    models,
    metrics,
    serverName: 'berth',
    serverVersion: VERSION,
    isReady: () => ready,
  });
  await app.register(managementPlugin, { management: core.management, uploadLimit: opts.uploadLimit ?? 1024 ** 3 });
  app.get('/metrics', { config: { role: 'read' } }, async (_req, reply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  await app.listen({ host, port });
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  log.info({ url, auth: authOn ? 'tokens' : 'open (loopback, no tokens)' }, 'berth server listening');

  const preloading = opts.preload === false ? Promise.resolve() : models.preload();
  void preloading.finally(() => {
    ready = true;
  });

  return {
    app,
    url,
    models,
    metrics,
    authRequired,
    close: async () => {
      await app.close();
      await models.close();
    },
  };
}
