/**
 * The gRPC front end: `inference.GRPCInferenceService` beside the REST server, over the same
 * ModelManager, metrics and tokens. Errors become gRPC status codes (the `grpc` name each BerthError
 * kind carries) with the message REST would give.
 */
import {
  type handleUnaryCall,
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { bearerSecret, type Role, type Tokens } from '../../auth/index.js';
import { BerthError, ErrorCodes } from '../../errors.js';
import type { ServerMetrics } from '../../monitor/metrics.js';
import type { Registry } from '../../registry/index.js';
import { type CallHeaders, describeModel, type InferDeps, runInference } from '../infer.js';
import type { ModelManager } from '../models.js';
import { decodeModelInferRequest, encodeModelInferResponse, type ModelInferRequestMsg } from './messages.js';
import { inferenceServiceDefinition } from './codec.js';

export interface GrpcServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  registry: Registry;
  models: ModelManager;
  metrics: ServerMetrics;
  /** Reads features for models that declare a feature service. */
  features?: InferDeps['features'];
  /** Routes calls that name no version (traffic policies, experiments). */
  router?: InferDeps['router'];
  /** Told about every inference call. */
  observers?: InferDeps['observers'];
  tokens: Tokens;
  /** Whether calls must carry a token (same rule as REST). */
  authRequired: () => Promise<boolean>;
  isReady: () => boolean;
  serverName: string;
  serverVersion: string;
  extensions: readonly string[];
  /** Largest request message, in bytes. */
  maxMessageBytes: number;
  logger: Logger;
}

export interface RunningGrpcServer {
  /** `host:port` as clients dial it. */
  address: string;
  port: number;
  close(): Promise<void>;
}


/** The gRPC status a failure is reported with (the `grpc` name of its BerthError kind), and its message. */
export function grpcStatusOf(e: unknown): { code: status; details: string } {
  if (e instanceof BerthError) return { code: status[ErrorCodes[e.kind].grpc], details: e.message };
  return { code: status.INTERNAL, details: 'internal error' };
}

function toStatus(e: unknown, log: Logger, method: string): { code: status; details: string } {
  if (!(e instanceof BerthError) || e.status >= 500) log.error({ method, err: e }, 'grpc call failed');
  return grpcStatusOf(e);
}

/** Starts the gRPC server and resolves once it listens. */
export async function startGrpcServer(opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  const { models, registry, metrics, tokens, logger } = opts;

  const authorize = (metadata: Metadata, role: Role) => async (required: boolean): Promise<void> => {
    if (!required) return;
    const value = metadata.get('authorization')[0];
    await tokens.authorize(bearerSecret(typeof value === 'string' ? value : value?.toString('utf8')), role);
  };

  // One promise chain per call: auth (unless the method is open), the handler, the answer.
  const unary =
    <Req>(method: string, role: Role | null, handler: (request: Req, call: ServerUnaryCall<Req, unknown>) => Promise<unknown>): handleUnaryCall<Req, unknown> =>
    (call: ServerUnaryCall<Req, unknown>, callback: sendUnaryData<unknown>): void => {
      const started = performance.now();
      const debug = (code: status) => {
        if (logger.isLevelEnabled('debug')) logger.debug({ method, code: status[code], ms: performance.now() - started }, 'grpc call');
      };
      const run = () => handler(call.request, call);
      (role === null ? Promise.resolve().then(run) : opts.authRequired().then(authorize(call.metadata, role)).then(run)).then(
        (value) => {
          debug(status.OK);
          callback(null, value);
        },
        (e: unknown) => {
          const s = toStatus(e, logger, method);
          debug(s.code);
          callback(s);
        },
      );
    };

  const inferDeps: InferDeps = { models, metrics, features: opts.features, router: opts.router, observers: opts.observers };
  const modelName = (name: string | undefined): string => name ?? '';
  const version = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

  const implementation: UntypedServiceImplementation = {
    ServerLive: unary('ServerLive', null, async () => ({ live: true })),
    ServerReady: unary('ServerReady', null, async () => ({ ready: opts.isReady() })),
    ServerMetadata: unary('ServerMetadata', 'read', async () => ({
      name: opts.serverName,
      version: opts.serverVersion,
      extensions: [...opts.extensions],
    })),
    ModelMetadata: unary('ModelMetadata', 'read', async (req: { name?: string; version?: string }) =>
      describeModel({ registry, models }, modelName(req.name), version(req.version)),
    ),
    ModelReady: unary('ModelReady', 'read', async (req: { name?: string; version?: string }) => {
      const mv = await models.resolve(modelName(req.name), version(req.version));
      const state = models.state(mv);
      if (state === 'unloaded') models.ensureLoading(mv);
      return { ready: state === 'ready' };
    }),
    ModelInfer: unary('ModelInfer', 'read', async (req: ModelInferRequestMsg, call) => {
      const raw = (req.raw_input_contents?.length ?? 0) > 0;
      let headers: CallHeaders | undefined;
      const { answer } = await runInference(
        inferDeps,
        {
          model: modelName(req.model_name),
          version: version(req.model_version),
          requestId: req.id || undefined,
          // built on first use: only routing reads them
          get headers() {
            headers ??= metadataHeaders(call.metadata);
            return headers;
          },
        },
        () => decodeModelInferRequest(req),
        (res) => encodeModelInferResponse(res, raw),
      );
      return answer;
    }),
  };

  const server = new Server({
    'grpc.max_receive_message_length': opts.maxMessageBytes,
    'grpc.max_send_message_length': -1,
    // channelz keeps per-call and per-connection counters and timestamps that nothing here reads
    'grpc.enable_channelz': 0,
  });
  server.addService(inferenceServiceDefinition(), implementation);
  const target = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(target, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  const address = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  logger.info({ address }, 'berth grpc listening');

  return {
    address,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 2_000).unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}

/** gRPC metadata as header-like strings (binary `-bin` entries are left out). */
function metadataHeaders(metadata: Metadata): CallHeaders {
  const map = metadata.getMap();
  const out: CallHeaders = {};
  for (const k in map) {
    const v = map[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}
