import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, LogController } from 'fastify';
import pino, { type Logger } from 'pino';
import { managementPlugin } from './api/index.js';
import { batchJobsPlugin } from './batch/index.js';
import { deploymentsPlugin, openDeployments } from './deploy/index.js';
import { experimentRouter, experimentsPlugin, openExperiments } from './experiments/index.js';
import { featuresPlugin, openFeatureStore } from './features/index.js';
import { type ApiToken, bearerSecret, type Role } from './auth/index.js';
import type { BerthCore } from './core.js';
import { BerthError, errors } from './errors.js';
import { ServerMetrics } from './monitor/metrics.js';
import { type AlertService, alertsPlugin, CallSignals, combineSignals, GaugeSignals, openAlerts } from './monitor/alerts/index.js';
import { type Monitoring, type MonitoringOptions, monitoringPlugin, openMonitoring } from './monitor/index.js';
import { type BatchingOptions, DEFAULT_BATCHING, WorkerPoolRuntime } from './runtime/index.js';
import {
  firstRoute,
  type InferenceObserver,
  ModelManager,
  type Router,
  type RunningGrpcServer,
  startGrpcServer,
  V2_EXTENSIONS,
  v2RestPlugin,
} from './serving/index.js';
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
  /** Join concurrent requests into one model run (default: up to 64 rows, no added delay); false turns it off. */
  batching?: BatchingOptions | false;
  /** Run models in this many worker threads (0, the default here: on the main thread; `berth serve` defaults to defaultWorkerCount()). */
  workers?: number;
  /** Directory that batch jobs submitted over HTTP must read from and write to (default: anywhere). */
  batchRoot?: string;
  /** Default Prometheus process metrics (default true). */
  defaultMetrics?: boolean;
  /** Also serve the Open Inference Protocol over gRPC on this port (0 = any free port); off when absent. */
  grpcPort?: number;
  /** How often alert rules are evaluated, ms (default 10 s; 0: only when `alerts.evaluate()` is called). */
  alertIntervalMs?: number;
  /** Live monitoring and the prediction log (sample rate, window, queue); false turns both off. */
  monitoring?: Pick<MonitoringOptions, 'sampleRate' | 'predictionLog' | 'windowMs' | 'buckets' | 'queueRows' | 'flushMs' | 'retentionMs'> | false;
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  models: ModelManager;
  metrics: ServerMetrics;
  /** Alert rules and events (`subscribe` to hear firing and resolved events). */
  alerts: AlertService;
  /** Live monitoring (absent when turned off). */
  monitoring?: Monitoring;
  authRequired: () => Promise<boolean>;
  /** The gRPC server, when `grpcPort` was given. */
  grpc?: RunningGrpcServer;
  close(): Promise<void>;
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const AUTH_RECHECK_MS = 1_000;

type LogFn = (...args: unknown[]) => void;

/**
 * Fastify makes a child logger for every request, and pino serializes its bindings right away.
 * Most requests never log, so the child is made on the first log call instead.
 */
class LazyChildLogger {
  private real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Record<string, unknown>,
    private readonly opts: object,
  ) {}

  get level(): string {
    return this.parent.level;
  }

  private log(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: unknown[]): void {
    if ((this.parent as Partial<Logger>).isLevelEnabled?.(level) === false) return;
    this.real ??= this.parent.child(this.bindings, this.opts);
    (this.real[level] as LogFn)(...args);
  }

  fatal(...a: unknown[]) {
    this.log('fatal', a);
  }
  error(...a: unknown[]) {
    this.log('error', a);
  }
  warn(...a: unknown[]) {
    this.log('warn', a);
  }
  info(...a: unknown[]) {
    this.log('info', a);
  }
  debug(...a: unknown[]) {
    this.log('debug', a);
  }
  trace(...a: unknown[]) {
    this.log('trace', a);
  }
  silent() {}
  child(bindings: Record<string, unknown>, opts?: object): FastifyBaseLogger {
    return this.parent.child({ ...this.bindings, ...bindings }, opts);
  }
}

const lazyChildLogger = (logger: FastifyBaseLogger, bindings: Record<string, unknown>, opts: object) =>
  new LazyChildLogger(logger, bindings, opts) as unknown as FastifyBaseLogger;

/** Assembles the plugins into one server, checks the auth rule for its address, and listens. */
export async function startServer(core: BerthCore, opts: ServerOptions = {}): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8000;
  const log = opts.logger ?? pino({ level: 'info' });
  const metrics = new ServerMetrics({ defaultMetrics: opts.defaultMetrics });
  // Everything this server opens, closed in reverse order when it stops or fails to start.
  const resources: { close(): Promise<unknown> | undefined }[] = [];
  const own = <T extends { close(): Promise<unknown> | undefined }>(r: T): T => {
    resources.push(r);
    return r;
  };
  const closeResources = async () => {
    const failures: unknown[] = [];
    for (const r of resources.splice(0).reverse()) await Promise.resolve(r.close()).catch((e: unknown) => failures.push(e));
    if (failures.length > 0) throw failures[0];
  };
  const pool = opts.workers ? own(new WorkerPoolRuntime({ workers: opts.workers, logger: log })) : undefined;
  const models = own(new ModelManager(core.registry, pool ?? core.runtime, metrics, log, opts.batching ?? DEFAULT_BATCHING));
  core.onChange(() => models.invalidate());

  const loopback = isLoopback(host);
  let authOn = await core.tokens.any();
  if (!loopback && !authOn) {
    throw new BerthError(
      'CONFLICT',
      `refusing to listen on ${host} without API tokens: anyone who can reach it could use it. ` +
        'Create one with `berth tokens create --role admin`, or bind to 127.0.0.1.',
    );
  }
  // An open loopback server turns auth on once a token appears (made here or by another process).
  const authWatch = authOn
    ? undefined
    : setInterval(() => {
        core.tokens.any().then(
          (any) => {
            if (any) {
              authOn = true;
              clearInterval(authWatch);
            }
          },
          () => {},
        );
      }, AUTH_RECHECK_MS).unref();
  const authRequired = async (): Promise<boolean> => authOn;

  const prefix = randomBytes(4).toString('hex');
  let seq = 0;
  const app: FastifyInstance = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // one debug line per request comes from the onResponse hook below
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024,
    requestIdHeader: 'x-request-id',
    // fixed width, so ids sort in the order they were issued: stores keyed by request id append
    genReqId: () => `${prefix}-${(++seq).toString(36).padStart(6, '0')}`,
    childLoggerFactory: lazyChildLogger,
    return503OnClosing: true,
  });

  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    const role = req.routeOptions.config?.role;
    if (!role || !authOn) return done();
    core.tokens.authorize(bearerSecret(req.headers.authorization), role).then((token) => {
      req.berthToken = token;
      done();
    }, done);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.observeHttp(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    if (log.isLevelEnabled('debug')) {
      log.debug(
        { request_id: req.id, method: req.method, url: req.url, status: reply.statusCode, ms: reply.elapsedTime },
        'request',
      );
    }
    done();
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

  // Plain JSON.parse: bodies are read field by field and never merged into objects, so the
  // prototype-poisoning scan of Fastify's default parser buys nothing here.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  const parseJson = (req: { headers: Record<string, unknown> }, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    // Triton's binary tensor extension: a JSON header plus raw tensors, whatever the declared type
    if (req.headers['inference-header-content-length'] !== undefined) return done(null, body);
    if (body.length === 0) return done(errors.badRequest('request body is empty; expected JSON'), undefined);
    try {
      done(null, JSON.parse(body.toString('utf8')));
    } catch (e) {
      done(errors.badRequest(`request body is not valid JSON: ${(e as Error).message}`), undefined);
    }
  };
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, parseJson);
  // Like KServe and Triton, take a JSON body whatever its declared type (curl -d sends form-urlencoded).
  app.addContentTypeParser('*', { parseAs: 'buffer' }, parseJson);

  // one feature store for the feature server routes and for models that read features
  const featureStore = own(openFeatureStore({ home: core.config.home }));
  const experiments = own(await openExperiments({ home: core.config.home, registry: core.registry, logger: log }));
  // Calls that name no version go to the first router with an answer; observers see every call.
  const deployments = own(openDeployments({ home: core.config.home, registry: core.registry, serving: { models, log }, metrics: metrics.registry }));
  // Experiments first: their units stay pinned to their variants; everyone else follows the rollout's policy.
  const routers: Router[] = [experimentRouter(experiments), deployments.router];
  const router = firstRoute(routers);
  const observers: InferenceObserver[] = [deployments.observer];
  const callSignals = new CallSignals();
  observers.push(callSignals);
  const monitoring =
    opts.monitoring === false || opts.monitoring?.sampleRate === 0
      ? undefined
      : await openMonitoring({
          ...opts.monitoring,
          home: core.config.home,
          registry: core.registry,
          run: async (mv, inputs) => (await models.acquire(mv)).run(inputs),
          metrics: metrics.registry,
          logger: log,
        });
  if (monitoring) observers.push(own(monitoring));
  const alerts = own(openAlerts({
    home: core.config.home,
    signals: combineSignals([callSignals, new GaugeSignals(metrics.registry)]),
    intervalMs: opts.alertIntervalMs,
    log,
  }));
  let ready = false;
  await app.register(v2RestPlugin, {
    registry: core.registry,
    models,
    metrics,
    features: featureStore,
    router,
    observers,
    serverName: 'berth',
    serverVersion: VERSION,
    isReady: () => ready,
  });
  await app.register(managementPlugin, { management: core.management, uploadLimit: opts.uploadLimit ?? 1024 ** 3 });
  await app.register(featuresPlugin, { store: featureStore });
  await app.register(experimentsPlugin, { experiments });
  await app.register(deploymentsPlugin, { deployments });
  await app.register(alertsPlugin, { alerts });
  if (monitoring) await app.register(monitoringPlugin, { monitoring });
  await app.register(batchJobsPlugin, { core, root: opts.batchRoot });
  app.get('/metrics', { config: { role: 'read' } }, async (_req, reply) =>
    reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  try {
    await app.listen({ host, port });
  } catch (e) {
    clearInterval(authWatch);
    await app.close();
    await closeResources();
    throw e;
  }
  const address = app.server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${boundPort}`;
  log.info({ url, auth: authOn ? 'tokens' : 'open (loopback, no tokens)' }, 'berth server listening');
  let grpc: RunningGrpcServer | undefined;
  if (opts.grpcPort !== undefined) {
    try {
      grpc = await startGrpcServer({
        host,
        port: opts.grpcPort,
        registry: core.registry,
        models,
        metrics,
        features: featureStore,
        router,
        observers,
        tokens: core.tokens,
        authRequired,
        isReady: () => ready,
        serverName: 'berth',
        serverVersion: VERSION,
        extensions: V2_EXTENSIONS,
        maxMessageBytes: opts.bodyLimit ?? 16 * 1024 * 1024,
        logger: log,
      });
    } catch (e) {
      clearInterval(authWatch);
      await app.close();
      await closeResources();
      throw e;
    }
  }

  const preloading = opts.preload === false ? Promise.resolve() : models.preload();
  // rollouts a restart interrupted come back in their last safe state; recorded ones start
  await deployments.start();
  void preloading.finally(() => {
    ready = true;
  });

  return {
    app,
    url,
    models,
    metrics,
    alerts,
    ...(monitoring ? { monitoring } : {}),
    authRequired,
    ...(grpc ? { grpc } : {}),
    close: async () => {
      clearInterval(authWatch);
      await Promise.all([app.close(), grpc?.close()]);
      await closeResources();
    },
  };
}
