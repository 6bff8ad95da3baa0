/** What the REST (JSON and Triton binary) and gRPC front ends share: model metadata and the inference path. */
import { BerthError } from '../errors.js';
import type { ServerMetrics } from '../monitor/metrics.js';
import { type InferRequest, type InferResponse, ONNX_PLATFORM, type V2ModelMetadata, validateInputs } from '../protocol/index.js';
import type { Registry } from '../registry/index.js';
import { declaresFeatureService, enrichWithFeatures, type FeatureSource } from './features.js';
import type { ModelManager } from './models.js';

export interface InferDeps {
  models: ModelManager;
  metrics: ServerMetrics;
  /** Reads the features of models that declare a feature service (see features.ts). */
  features?: FeatureSource;
}

/** Model metadata as both front ends answer it; `versions` lists every version when none was named. */
export async function describeModel(
  deps: { registry: Registry; models: ModelManager },
  name: string,
  version: string | undefined,
): Promise<V2ModelMetadata> {
  const mv = await deps.models.resolve(name, version);
  const versions = version === undefined ? (await deps.registry.listVersions(name)).map((v) => String(v.version)) : undefined;
  return {
    name: mv.model,
    ...(versions ? { versions } : {}),
    platform: ONNX_PLATFORM,
    inputs: mv.signature.inputs,
    outputs: mv.signature.outputs,
  };
}

/**
 * Decodes, resolves `model` (and `version`, when given), validates the inputs against its signature,
 * runs it and encodes the answer; records the outcome in the inference metrics either way.
 */
export async function runInference<T>(
  deps: InferDeps,
  model: string,
  version: string | undefined,
  decode: () => InferRequest,
  encode: (response: InferResponse, request: InferRequest) => T,
): Promise<T> {
  const { models, metrics } = deps;
  const started = performance.now();
  let labels: { model: string; version: string } = { model, version: version ?? '' };
  try {
    let request = decode();
    const mv = await models.resolve(model, version);
    labels = { model: mv.model, version: String(mv.version) };
    if (declaresFeatureService(mv)) request = await enrichWithFeatures(deps.features, mv, request);
    validateInputs(request, mv.signature, `${mv.model}:${mv.version}`);
    const loaded = await models.acquire(mv);
    const outputs = await loaded.run(request.inputs, request.outputs?.map((o) => o.name));
    const response: InferResponse = {
      modelName: mv.model,
      modelVersion: labels.version,
      ...(request.id !== undefined ? { id: request.id } : {}),
      ...(request.parameters !== undefined ? { parameters: request.parameters } : {}),
      outputs,
    };
    const encoded = encode(response, request);
    metrics.observeInference(labels.model, labels.version, 200, (performance.now() - started) / 1000);
    return encoded;
  } catch (e) {
    metrics.observeInference(labels.model, labels.version, e instanceof BerthError ? e.status : 500);
    throw e;
  }
}
