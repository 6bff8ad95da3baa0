/** What the REST (JSON and Triton binary) and gRPC front ends share: model metadata and the inference path. */
import { BerthError } from '../errors.js';
import type { ServerMetrics } from '../monitor/metrics.js';
import {
  type InferRequest,
  type InferResponse,
  ONNX_PLATFORM,
  type Tensor,
  type V2ModelMetadata,
  validateInputs,
} from '../protocol/index.js';
import type { Registry } from '../registry/index.js';
import { declaresFeatureService, enrichWithFeatures, type FeatureSource } from './features.js';
import type { ModelManager } from './models.js';

/** Request headers (REST) or call metadata (gRPC), as Node gives them. */
export type CallHeaders = Record<string, string | string[] | undefined>;

/** One inference call as a front end received it, before routing. */
export interface InferCall {
  /** The model name in the path or message. */
  model: string;
  /** The version in the path or message; undefined lets a router choose. */
  version: string | undefined;
  /** The request id (REST `x-request-id`, or the V2 `id`), for logs, prediction logs and outcomes. */
  requestId?: string;
  headers: CallHeaders;
}

/** Where a router sends a call that named no version. */
export interface Route {
  model: string;
  version: number;
  /** Merged into the V2 response `parameters` (e.g. experiment and variant). */
  parameters?: Record<string, string>;
  /** Response headers (REST only; gRPC carries `parameters`). */
  headers?: Record<string, string>;
}

/**
 * Chooses the version that answers a call that named none (traffic policies, experiments).
 * Runs on the hot path: synchronous, no I/O. Undefined leaves the default (champion, else newest).
 */
export interface Router {
  route(call: InferCall): Route | undefined;
}

/** What happened to one inference call, handed to observers once the answer is encoded (or failed). */
export interface InferenceEvent {
  model: string;
  /** The version that answered; undefined when the call failed before a version was resolved. */
  version: number | undefined;
  requestId: string | undefined;
  /** HTTP status (200 on success; the error's status otherwise). */
  status: number;
  /** Seconds from the start of decoding to the encoded answer (or the failure). */
  seconds: number;
  /** Date.now() when the call finished. */
  time: number;
  /** The decoded, validated request (undefined when decoding or validation failed). */
  request: InferRequest | undefined;
  /** The outputs (success only). Observers must not modify them. */
  outputs: Tensor[] | undefined;
  /** The route a router chose, if one did. */
  route: Route | undefined;
  /** The error, on failure. */
  error: unknown;
}

/**
 * Sees every inference call (prediction logging, live drift, SLO windows, shadow traffic). Runs on the
 * hot path: must be cheap and synchronous (queue work for later) and must not throw.
 */
export interface InferenceObserver {
  observe(event: InferenceEvent): void;
}

export interface InferDeps {
  models: ModelManager;
  metrics: ServerMetrics;
  /** Reads the features of models that declare a feature service (see features.ts). */
  features?: FeatureSource;
  /** Routes calls that name no version. */
  router?: Router;
  /** Told about every call, in order; the array may grow while the server runs. */
  observers?: InferenceObserver[];
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

function notify(observers: InferenceObserver[], event: InferenceEvent): void {
  for (const o of observers) {
    try {
      o.observe(event);
    } catch {
      // an observer's failure must never fail or slow the call it watched
    }
  }
}

/**
 * Routes the call (when it names no version), decodes, resolves, validates the inputs against the
 * version's signature, runs it and encodes the answer; records the outcome in the inference metrics
 * and tells the observers either way. Returns the encoded answer and the route taken, if any.
 */
export async function runInference<T>(
  deps: InferDeps,
  call: InferCall,
  decode: () => InferRequest,
  encode: (response: InferResponse, request: InferRequest) => T,
): Promise<{ answer: T; route: Route | undefined }> {
  const { models, metrics } = deps;
  const started = performance.now();
  const route = call.version === undefined ? deps.router?.route(call) : undefined;
  let labels: { model: string; version: string } = { model: route?.model ?? call.model, version: call.version ?? '' };
  let resolvedVersion: number | undefined;
  let request: InferRequest | undefined;
  try {
    let decoded = decode();
    const mv = await models.resolve(route?.model ?? call.model, route ? String(route.version) : call.version);
    labels = { model: mv.model, version: String(mv.version) };
    resolvedVersion = mv.version;
    if (declaresFeatureService(mv)) decoded = await enrichWithFeatures(deps.features, mv, decoded);
    validateInputs(decoded, mv.signature, `${mv.model}:${mv.version}`);
    request = decoded;
    const loaded = await models.acquire(mv);
    const outputs = await loaded.run(decoded.inputs, decoded.outputs?.map((o) => o.name));
    // a route's parameters are shared (frozen, their JSON cached): copied only to merge with the request's
    const parameters =
      route?.parameters === undefined ? decoded.parameters : decoded.parameters === undefined ? route.parameters : { ...decoded.parameters, ...route.parameters };
    const response: InferResponse = {
      modelName: mv.model,
      modelVersion: labels.version,
      ...(decoded.id !== undefined ? { id: decoded.id } : {}),
      ...(parameters !== undefined ? { parameters } : {}),
      outputs,
    };
    const answer = encode(response, decoded);
    const seconds = (performance.now() - started) / 1000;
    metrics.observeInference(labels.model, labels.version, 200, seconds);
    if (deps.observers !== undefined && deps.observers.length > 0) {
      notify(deps.observers, {
        model: mv.model,
        version: mv.version,
        requestId: call.requestId ?? decoded.id,
        status: 200,
        seconds,
        time: Date.now(),
        request: decoded,
        outputs,
        route,
        error: undefined,
      });
    }
    return { answer, route };
  } catch (e) {
    const status = e instanceof BerthError ? e.status : 500;
    metrics.observeInference(labels.model, labels.version, status);
    if (deps.observers !== undefined && deps.observers.length > 0) {
      notify(deps.observers, {
        model: labels.model,
        version: resolvedVersion,
        requestId: call.requestId ?? request?.id,
        status,
        seconds: (performance.now() - started) / 1000,
        time: Date.now(),
        request,
        outputs: undefined,
        route,
        error: e,
      });
    }
    throw e;
  }
}
