/**
 * Triton's REST extensions on top of the V2 REST surface:
 * - `binary_tensor_data`: a JSON header followed by raw tensors. The header's length travels in
 *   `Inference-Header-Content-Length`; inputs carrying `parameters.binary_data_size` take their
 *   elements from the bytes after it, in input order; outputs are answered in binary when their
 *   `parameters.binary_data` (or else the request's `parameters.binary_data_output`) is true.
 * - `model_repository`: `POST /v2/repository/index`, `.../models/{m}/load`, `.../models/{m}/unload`.
 */
import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';
import {
  decodeInferRequest,
  decodeRawTensor,
  type ExternalData,
  encodeInferResponse,
  encodeJson,
  encodeRawTensor,
  encodeTensor,
  formatShape,
  type InferRequest,
  type InferResponse,
  type Parameters,
  type Tensor,
} from '../protocol/index.js';
import type { Registry } from '../registry/index.js';
import type { ModelManager } from './models.js';

/** The header naming the length of the JSON part of a binary body. */
export const HEADER_LENGTH = 'inference-header-content-length';
const BINARY_SIZE = 'binary_data_size';

type JsonObject = Record<string, unknown>;
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Lets this plugin's routes take binary bodies: `application/octet-stream` is kept as a Buffer, and so
 * is any body sent with `Inference-Header-Content-Length` (Triton's clients send no content type).
 */
export function acceptBinaryBodies(app: FastifyInstance): void {
  // Bodies of other declared types (or none, as Triton's clients send) that carry the header are
  // kept raw by the server's JSON parser (see src/server.ts), so no per-request hook is needed here.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
}

function parseHeaderLength(value: string | string[] | undefined, bodyLength: number): number | undefined {
  if (value === undefined) return undefined;
  const text = Array.isArray(value) ? value[0] : value;
  const n = Number(text);
  if (text === undefined || !/^[0-9]+$/.test(text.trim()) || !Number.isSafeInteger(n)) {
    throw errors.badRequest(`Inference-Header-Content-Length must be a non-negative integer, got '${text ?? ''}'`, HEADER_LENGTH);
  }
  if (n > bodyLength) {
    throw errors.badRequest(`Inference-Header-Content-Length is ${n} but the body has only ${bodyLength} bytes`, HEADER_LENGTH);
  }
  return n;
}

function parseHeader(json: Buffer): unknown {
  if (json.length === 0) throw errors.badRequest('the JSON header of the binary request is empty', HEADER_LENGTH);
  try {
    return JSON.parse(json.toString('utf8'));
  } catch (e) {
    throw errors.badRequest(`request header is not valid JSON: ${(e as Error).message}`, HEADER_LENGTH);
  }
}

/** Reads `parameters.binary_data_size` of header input `index`, if it has one. */
function binarySize(header: JsonObject, index: number, label: string): number | undefined {
  const input = (header.inputs as unknown[])[index] as JsonObject;
  const params = input.parameters;
  if (!isObject(params) || params[BINARY_SIZE] === undefined) return undefined;
  const size = params[BINARY_SIZE];
  const field = `inputs[${index}].parameters.${BINARY_SIZE}`;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw errors.badRequest(`${label}: ${BINARY_SIZE} must be a non-negative integer, got ${JSON.stringify(size)}`, field);
  }
  if (input.data !== undefined) {
    throw errors.badRequest(`${label}: has both data and parameters.${BINARY_SIZE}; send its elements one way`, `inputs[${index}].data`);
  }
  return size;
}

/**
 * Decodes an infer body: a parsed JSON object, or a Buffer holding a JSON header and the binary
 * tensor data after it (the whole Buffer is JSON when `Inference-Header-Content-Length` is absent).
 */
export function decodeTritonRequest(body: unknown, headerLength: string | string[] | undefined): InferRequest {
  if (!Buffer.isBuffer(body)) {
    const noBinary: ExternalData = ({ index, label }) => {
      if (isObject(body) && binarySize(body, index, label) !== undefined) {
        throw errors.badRequest(
          `${label}: parameters.${BINARY_SIZE} is set, but the request carries no binary data (send a JSON header, its length in Inference-Header-Content-Length, then the tensors)`,
          `inputs[${index}].parameters.${BINARY_SIZE}`,
        );
      }
      return undefined;
    };
    return decodeInferRequest(body, undefined, noBinary);
  }
  const jsonLength = parseHeaderLength(headerLength, body.length) ?? body.length;
  const header = parseHeader(body.subarray(0, jsonLength));
  let offset = jsonLength;
  const binary: ExternalData = ({ index, datatype, shape, count, label }, limits) => {
    const size = binarySize(header as JsonObject, index, label);
    if (size === undefined) return undefined;
    const field = `inputs[${index}].parameters.${BINARY_SIZE}`;
    if (offset + size > body.length) {
      throw errors.badRequest(
        `${label}: ${BINARY_SIZE} is ${size} but only ${body.length - offset} bytes of binary data remain`,
        field,
      );
    }
    const raw = body.subarray(offset, offset + size);
    offset += size;
    return decodeRawTensor(raw, { datatype, shape, count, label, field, maxStringBytes: limits.maxStringBytes });
  };
  const request = decodeInferRequest(header, undefined, binary);
  if (offset !== body.length) {
    throw errors.badRequest(
      `the body has ${body.length - offset} bytes of binary data that no input's ${BINARY_SIZE} accounts for`,
      HEADER_LENGTH,
    );
  }
  return request;
}

/** Whether output `name` goes back as binary data. */
function wantsBinary(request: InferRequest, name: string): boolean {
  const own = request.outputs?.find((o) => o.name === name)?.parameters?.binary_data;
  if (own !== undefined) return own === true;
  return request.parameters?.binary_data_output === true;
}

/** An encoded infer answer: JSON text, or a JSON header followed by binary outputs. */
export interface EncodedAnswer {
  body: string | Buffer;
  contentType: string;
  /** Length of the JSON header, when the body carries binary outputs. */
  headerLength?: number;
  /** The version that answered. */
  modelVersion: string;
}

function binaryOutputHeader(t: Tensor, size: number): string {
  const parameters: Parameters = { ...t.parameters, [BINARY_SIZE]: size };
  return `{"name":${encodeJson(t.name)},"datatype":"${t.datatype}","shape":${formatShape(t.shape)},"parameters":${encodeJson(parameters)}}`;
}

/** Encodes a response as JSON, or as Triton binary when any output asked for binary data. */
export function encodeTritonResponse(response: InferResponse, request: InferRequest): EncodedAnswer {
  const binary = response.outputs.map((o) => wantsBinary(request, o.name));
  if (!binary.includes(true)) {
    return { body: encodeInferResponse(response), contentType: 'application/json; charset=utf-8', modelVersion: response.modelVersion };
  }
  const blobs: Buffer[] = [];
  let s = `{"model_name":${encodeJson(response.modelName)},"model_version":${encodeJson(response.modelVersion)}`;
  if (response.id !== undefined) s += `,"id":${encodeJson(response.id)}`;
  if (response.parameters !== undefined && Object.keys(response.parameters).length > 0) {
    s += `,"parameters":${encodeJson(response.parameters)}`;
  }
  s += ',"outputs":[';
  response.outputs.forEach((t, i) => {
    if (i > 0) s += ',';
    if (!binary[i]) {
      s += encodeTensor(t);
      return;
    }
    const raw = encodeRawTensor(t);
    blobs.push(raw);
    s += binaryOutputHeader(t, raw.length);
  });
  s += ']}';
  const header = Buffer.from(s, 'utf8');
  return {
    body: Buffer.concat([header, ...blobs]),
    contentType: 'application/octet-stream',
    headerLength: header.length,
    modelVersion: response.modelVersion,
  };
}

export interface RepositoryOptions {
  registry: Registry;
  models: ModelManager;
}

interface RepositoryEntry {
  name: string;
  version?: string;
  state: 'READY' | 'LOADING' | 'UNAVAILABLE';
  reason: string;
}

const STATE = { ready: 'READY', loading: 'LOADING', failed: 'UNAVAILABLE', unloaded: 'UNAVAILABLE' } as const;

function optionalObject(body: unknown, what: string): JsonObject {
  if (body === undefined || body === null) return {};
  if (!isObject(body)) throw errors.badRequest(`${what} body must be a JSON object`);
  return body;
}

/** Triton's model repository extension over the registry and the loaded models. */
export async function tritonRepositoryPlugin(app: FastifyInstance, opts: RepositoryOptions): Promise<void> {
  const { registry, models } = opts;

  const requireModel = async (name: string): Promise<void> => {
    if (!(await registry.getModel(name))) throw errors.notFound(`model '${name}' is not in the registry`);
  };

  app.post('/v2/repository/index', { config: { role: 'read' } }, async (req) => {
    const body = optionalObject(req.body, 'repository index');
    if (body.ready !== undefined && typeof body.ready !== 'boolean') {
      throw errors.badRequest(`ready must be a boolean, got ${JSON.stringify(body.ready)}`, 'ready');
    }
    const held = models.list();
    const entries: RepositoryEntry[] = [];
    for (const m of await registry.listModels()) {
      const mine = held.filter((h) => h.model === m.name).sort((a, b) => a.version - b.version);
      if (mine.length === 0) entries.push({ name: m.name, state: 'UNAVAILABLE', reason: 'unloaded' });
      for (const h of mine) {
        const failure = h.state === 'failed' ? models.failure(await models.resolve(h.model, String(h.version))) : undefined;
        entries.push({ name: m.name, version: String(h.version), state: STATE[h.state], reason: failure?.message ?? '' });
      }
    }
    return body.ready === true ? entries.filter((e) => e.state === 'READY') : entries;
  });

  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/load', { config: { role: 'deploy' } }, async (req) => {
    const body = optionalObject(req.body, 'load');
    if (body.parameters !== undefined && !isObject(body.parameters)) {
      throw errors.badRequest('parameters must be an object', 'parameters');
    }
    const mv = await models.resolve(req.params.model);
    await models.load(mv);
    return {};
  });

  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/unload', { config: { role: 'deploy' } }, async (req) => {
    const body = optionalObject(req.body, 'unload');
    if (body.parameters !== undefined && !isObject(body.parameters)) {
      throw errors.badRequest('parameters must be an object', 'parameters');
    }
    await requireModel(req.params.model);
    for (const h of models.list()) {
      if (h.model === req.params.model) await models.unload(h.model, h.version);
    }
    return {};
  });
}
