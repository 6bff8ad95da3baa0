import type { FastifyInstance, FastifyReply } from 'fastify';
import { BerthError, errors } from '../errors.js';
import type { ServerMetrics } from '../monitor/metrics.js';
import {
  decodeInferRequest,
  encodeInferResponse,
  ONNX_PLATFORM,
  type V2ModelMetadata,
  validateInputs,
} from '../protocol/index.js';
import type { Registry } from '../registry/index.js';
import type { ModelManager } from './models.js';

/** Extensions listed by `GET /v2`. */
export const V2_EXTENSIONS: string[] = [];

export interface V2Options {
  registry: Registry;
  models: ModelManager;
  metrics: ServerMetrics;
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
  const { registry, models, metrics } = opts;
  const pub = { config: { role: null } };
  const read = { config: { role: 'read' as const } };

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

  const metadata = async (p: ModelParams): Promise<V2ModelMetadata> => {
    const mv = await models.resolve(p.model, p.version);
    const versions = p.version === undefined ? (await registry.listVersions(p.model)).map((v) => String(v.version)) : undefined;
    return {
      name: mv.model,
      ...(versions ? { versions } : {}),
      platform: ONNX_PLATFORM,
      inputs: mv.signature.inputs,
      outputs: mv.signature.outputs,
    };
  };
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

  const infer = async (p: ModelParams, body: unknown, reply: FastifyReply) => {
    const started = performance.now();
    let labels: { model: string; version: string } = { model: p.model, version: p.version ?? '' };
    try {
      const request = decodeInferRequest(body);
      const mv = await models.resolve(p.model, p.version);
      labels = { model: mv.model, version: String(mv.version) };
      validateInputs(request, mv.signature, `${mv.model}:${mv.version}`);
      const model = await models.acquire(mv);
      const outputs = await model.run(request.inputs, request.outputs?.map((o) => o.name));
      const payload = encodeInferResponse({
        modelName: mv.model,
        modelVersion: labels.version,
        ...(request.id !== undefined ? { id: request.id } : {}),
        ...(request.parameters !== undefined ? { parameters: request.parameters } : {}),
        outputs,
      });
      metrics.observeInference(labels.model, labels.version, 200, (performance.now() - started) / 1000);
      return reply.header('content-type', 'application/json; charset=utf-8').header('x-model-version', labels.version).send(payload);
    } catch (e) {
      metrics.observeInference(labels.model, labels.version, e instanceof BerthError ? e.status : 500);
      throw e;
    }
  };
  app.post<{ Params: ModelParams }>('/v2/models/:model/infer', read, async (req, reply) =>
    infer(req.params, req.body, reply),
  );
  app.post<{ Params: ModelParams }>('/v2/models/:model/versions/:version/infer', read, async (req, reply) =>
    infer(req.params, req.body, reply),
  );
}
