import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors } from '../errors.js';
import type { ServerMetrics } from '../monitor/metrics.js';
import type { V2ModelMetadata } from '../protocol/index.js';
import type { Registry } from '../registry/index.js';
import { describeModel, type InferDeps, runInference } from './infer.js';
import type { ModelManager } from './models.js';
import { acceptBinaryBodies, decodeTritonRequest, encodeTritonResponse, HEADER_LENGTH, tritonRepositoryPlugin } from './triton.js';

/** Extensions listed by `GET /v2`. */
export const V2_EXTENSIONS: string[] = ['binary_tensor_data', 'model_repository'];

export interface V2Options {
  registry: Registry;
  models: ModelManager;
  metrics: ServerMetrics;
  /** Reads features for models that declare a feature service. */
  features?: InferDeps['features'];
  /** Routes requests that name no version (traffic policies, experiments). */
  router?: InferDeps['router'];
  /** Told about every inference call. */
  observers?: InferDeps['observers'];
  serverName: string;
  serverVersion: string;
  /** True once start-up loading has finished. */
  isReady: () => boolean;
}

interface ModelParams {
  model: string;
  version?: string;
}

/** The Open Inference Protocol v2 REST surface, as one Fastify plugin. */
export async function v2RestPlugin(app: FastifyInstance, opts: V2Options): Promise<void> {
  const { registry, models } = opts;
  const pub = { config: { role: null } };
  const read = { config: { role: 'read' as const } };
  acceptBinaryBodies(app);
  await app.register(tritonRepositoryPlugin, { registry, models });

  app.get('/v2/health/live', pub, async (_req, reply) => reply.send({ live: true }));
  app.get('/v2/health/ready', pub, async (_req, reply) => {
    const ready = opts.isReady();
    return reply.code(ready ? 200 : 503).send(ready ? { ready } : { ready, error: 'server is starting' });
  });
  app.get('/v2', read, async () => ({
    name: opts.serverName,
    version: opts.serverVersion,
    extensions: V2_EXTENSIONS,
  }));

  const metadata = (p: ModelParams): Promise<V2ModelMetadata> => describeModel(opts, p.model, p.version);
  app.get<{ Params: ModelParams }>('/v2/models/:model', read, async (req) => metadata(req.params));
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version', read, async (req) => metadata(req.params));

  const ready = async (p: ModelParams, reply: FastifyReply) => {
    const mv = await models.resolve(p.model, p.version);
    const state = models.state(mv);
    if (state === 'ready') return reply.send({ name: mv.model, version: String(mv.version), ready: true });
    if (state === 'failed') throw models.failure(mv) ?? errors.notReady(`model ${mv.model}:${mv.version} failed to load`);
    models.ensureLoading(mv);
    throw errors.notReady(`model ${mv.model}:${mv.version} is loading`);
  };
  app.get<{ Params: ModelParams }>('/v2/models/:model/ready', read, async (req, reply) => ready(req.params, reply));
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version/ready', read, async (req, reply) =>
    ready(req.params, reply),
  );

  const infer = async (p: ModelParams, req: FastifyRequest, reply: FastifyReply) => {
    const { answer, route } = await runInference(
      opts,
      { model: p.model, version: p.version, requestId: req.id, headers: req.headers },
      () => decodeTritonRequest(req.body, req.headers[HEADER_LENGTH]),
      encodeTritonResponse,
    );
    if (route?.headers) reply.headers(route.headers);
    if (answer.headerLength !== undefined) reply.header(HEADER_LENGTH, String(answer.headerLength));
    return reply.header('content-type', answer.contentType).header('x-model-version', answer.modelVersion).send(answer.body);
  };
  app.post<{ Params: ModelParams }>('/v2/models/:model/infer', read, async (req, reply) =>
    infer(req.params, req, reply),
  );
  app.post<{ Params: ModelParams }>('/v2/models/:model/versions/:version/infer', read, async (req, reply) =>
    infer(req.params, req, reply),
  );
}
