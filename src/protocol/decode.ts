/**
 * REST JSON -> InferRequest. Validates the structure of an Open Inference Protocol v2 request and
 * converts each input's `data` into typed storage (see `TensorData` in types.ts).
 *
 * Wire rules beyond the protocol text, chosen so every value survives JSON exactly:
 * - INT64/UINT64 elements are JSON numbers that are safe integers (|n| <= 2^53 - 1) or decimal
 *   strings ("-9223372036854775808", "18446744073709551615"), the only lossless form for larger values.
 *   A number beyond 2^53 is rejected: JSON.parse may already have rounded it.
 * - FP16/FP32/FP64 elements are numbers, or the strings "NaN"/"nan", "Infinity"/"inf",
 *   "-Infinity"/"-inf". A finite number too large for the datatype (FP32 > ~3.4e38, FP16 > 65504
 *   after rounding) is rejected rather than silently becoming Infinity.
 * - Nested `data` must follow the shape level by level; flat `data` is row-major.
 * - An empty `outputs` array means "all outputs", as if it were absent.
 */
import { errors } from '../errors.js';
import { formatShape, isDatatype } from './datatypes.js';
import { convertData, describeValue, type ElementContext } from './elements.js';
import { DATATYPES, type Datatype, type InferRequest, type Parameters, type Tensor, type TensorData } from './types.js';

/** Request limits; each guards memory or CPU on the hot path. */
export interface DecodeLimits {
  /** Inputs per request. */
  maxInputs: number;
  /** Dimensions per input shape. */
  maxRank: number;
  /** Elements in one input (the product of its shape). */
  maxElementsPerInput: number;
  /** Elements across all inputs of a request. */
  maxTotalElements: number;
  /** UTF-8 bytes in one BYTES element. */
  maxStringBytes: number;
}

export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxInputs: 64,
  maxRank: 8,
  maxElementsPerInput: 16_777_216,
  maxTotalElements: 16_777_216,
  maxStringBytes: 1_048_576,
});

/** Overrides of DEFAULT_DECODE_LIMITS; each options object is resolved once, so do not mutate it. */
export type DecodeOptions = Partial<DecodeLimits>;

/**
 * Supplies the elements of an input that travel outside `data` (gRPC raw contents, Triton binary
 * data), called once per input in order after its name, datatype and shape have been checked;
 * returns undefined to read `data` as usual.
 */
export type ExternalData = (
  input: { index: number; name: string; datatype: Datatype; shape: readonly number[]; count: number; label: string },
  limits: Readonly<DecodeLimits>,
) => TensorData | undefined;

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A client-chosen name as messages quote it: truncated, so a huge name cannot bloat an error. */
function quoted(name: string): string {
  return `'${name.length > 64 ? `${name.slice(0, 64)}…` : name}'`;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Validates a `parameters` object (values: strings, finite numbers or booleans) and returns it as
 * is; `label` prefixes messages (`inputs[0] ('x'): ` or empty).
 */
function decodeParameters(value: unknown, field: string, label: string): Parameters {
  if (!isObject(value)) throw errors.badRequest(`${label}parameters must be an object, got ${describeValue(value)}`, field);
  for (const key of Object.keys(value)) {
    const v = value[key];
    const t = typeof v;
    if (t === 'string' || t === 'boolean' || (t === 'number' && Number.isFinite(v))) continue;
    throw errors.badRequest(
      `${label}parameter '${key}' is ${describeValue(v)}, expected a string, number or boolean`,
      `${field}.${key}`,
    );
  }
  return value as Parameters;
}

// Front ends pass the same options object on every request: resolve it once.
let lastOptions: DecodeOptions | undefined;
let lastLimits: Readonly<DecodeLimits> = DEFAULT_DECODE_LIMITS;

function resolveLimits(options: DecodeOptions | undefined): Readonly<DecodeLimits> {
  if (options === undefined) return DEFAULT_DECODE_LIMITS;
  if (options === lastOptions) return lastLimits;
  const limits = { ...DEFAULT_DECODE_LIMITS };
  for (const key of Object.keys(DEFAULT_DECODE_LIMITS) as (keyof DecodeLimits)[]) {
    const v = options[key];
    if (v === undefined) continue;
    if (!(Number.isInteger(v) && v >= 0)) throw new RangeError(`decode option ${key} must be a non-negative integer, got ${v}`);
    limits[key] = v;
  }
  lastOptions = options;
  lastLimits = limits;
  return limits;
}

/** Checks a shape and returns its element count, enforcing the rank and per-input limits. */
function decodeShape(value: unknown, label: string, field: string, limits: Readonly<DecodeLimits>): number {
  if (!Array.isArray(value)) throw errors.shape(`${label}: shape must be an array of non-negative integers, got ${describeValue(value)}`, field);
  if (value.length > limits.maxRank) {
    throw errors.badRequest(
      `${label}: shape has ${value.length} dimensions, over the limit of ${limits.maxRank} (maxRank)`,
      field,
    );
  }
  let count = 1;
  for (let d = 0; d < value.length; d++) {
    const dim: unknown = value[d];
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      const shown = value.map((x: unknown) => (typeof x === 'number' ? String(x) : describeValue(x)));
      throw errors.shape(
        `${label}: shape must be an array of non-negative integers, got ${formatShape(shown)} (dimension ${d} is ${describeValue(dim)})`,
        field,
      );
    }
    count *= dim;
  }
  // Every dim is >= 0 and finite, so a zero anywhere makes count 0 and huge shapes only grow.
  if (count > limits.maxElementsPerInput) {
    throw errors.badRequest(
      `${label}: shape ${formatShape(value)} has ${count} elements, over the limit of ${limits.maxElementsPerInput} per input (maxElementsPerInput)`,
      field,
    );
  }
  return count;
}

/** Decodes `inputs[index]`; `total` carries the running element count across inputs. */
function decodeInput(
  value: unknown,
  index: number,
  previous: readonly Tensor[],
  limits: Readonly<DecodeLimits>,
  total: { elements: number },
  external: ExternalData | undefined,
): Tensor {
  const at = `inputs[${index}]`;
  if (!isObject(value)) throw errors.badRequest(`${at} must be an object, got ${describeValue(value)}`, at);
  const name = value.name;
  if (typeof name !== 'string' || name.length === 0) {
    throw errors.badRequest(`${at}: name must be a non-empty string, got ${describeValue(name)}`, `${at}.name`);
  }
  const label = `${at} (${quoted(name)})`;
  for (let j = 0; j < previous.length; j++) {
    if (previous[j]!.name === name) throw errors.badRequest(`${label}: duplicate input name (also inputs[${j}])`, `${at}.name`);
  }

  const datatype = value.datatype;
  if (!isDatatype(datatype)) {
    const got = typeof datatype === 'string' ? quoted(datatype) : describeValue(datatype);
    throw errors.datatype(`${label}: datatype ${got} is not a V2 datatype (expected one of ${DATATYPES.join(', ')})`, `${at}.datatype`);
  }

  const count = decodeShape(value.shape, label, `${at}.shape`, limits);
  const shape = value.shape as number[];
  total.elements += count;
  if (total.elements > limits.maxTotalElements) {
    throw errors.badRequest(
      `${label}: the request's inputs hold ${total.elements} elements so far, over the limit of ${limits.maxTotalElements} (maxTotalElements)`,
      `${at}.shape`,
    );
  }

  let elements = external?.({ index, name, datatype, shape, count, label }, limits);
  if (elements === undefined) {
    const data = value.data;
    if (!Array.isArray(data)) {
      throw errors.badRequest(`${label}: data must be an array, got ${describeValue(data)}`, `${at}.data`);
    }
    const ctx: ElementContext = { label, field: `${at}.data`, shape, nested: false, maxStringBytes: limits.maxStringBytes };
    elements = convertData(datatype, data, count, ctx);
  }
  const tensor: Tensor = { name, datatype, shape: shape.slice(), data: elements };
  if (value.parameters !== undefined) tensor.parameters = decodeParameters(value.parameters, `${at}.parameters`, `${label}: `);
  return tensor;
}

function decodeOutputs(value: unknown): InferRequest['outputs'] {
  if (!Array.isArray(value)) throw errors.badRequest(`outputs must be an array, got ${describeValue(value)}`, 'outputs');
  if (value.length === 0) return undefined;
  const outputs: NonNullable<InferRequest['outputs']> = [];
  for (let i = 0; i < value.length; i++) {
    const at = `outputs[${i}]`;
    const o: unknown = value[i];
    if (!isObject(o)) throw errors.badRequest(`${at} must be an object, got ${describeValue(o)}`, at);
    if (typeof o.name !== 'string' || o.name.length === 0) {
      throw errors.badRequest(`${at}: name must be a non-empty string, got ${describeValue(o.name)}`, `${at}.name`);
    }
    for (let j = 0; j < outputs.length; j++) {
      if (outputs[j]!.name === o.name) {
        throw errors.badRequest(`${at} (${quoted(o.name)}): output requested twice (also outputs[${j}])`, `${at}.name`);
      }
    }
    const out: { name: string; parameters?: Parameters } = { name: o.name };
    if (o.parameters !== undefined) out.parameters = decodeParameters(o.parameters, `${at}.parameters`, `${at} (${quoted(o.name)}): `);
    outputs.push(out);
  }
  return outputs;
}

/**
 * Validates a parsed V2 REST request body and converts it into an InferRequest; throws a BerthError
 * (BAD_REQUEST, SHAPE or DATATYPE, with `field`) naming the first problem found.
 */
export function decodeInferRequest(body: unknown, options?: DecodeOptions, external?: ExternalData): InferRequest {
  const limits = resolveLimits(options);
  if (!isObject(body)) throw errors.badRequest(`request body must be a JSON object, got ${describeValue(body)}`);

  const request: InferRequest = { inputs: [] };
  if (body.id !== undefined) {
    if (typeof body.id !== 'string') throw errors.badRequest(`id must be a string, got ${describeValue(body.id)}`, 'id');
    request.id = body.id;
  }
  if (body.parameters !== undefined) request.parameters = decodeParameters(body.parameters, 'parameters', '');

  const inputs = body.inputs;
  if (!Array.isArray(inputs)) throw errors.badRequest(`inputs must be an array, got ${describeValue(inputs)}`, 'inputs');
  // with parameters, inputs may be empty: models that read a feature service take entity keys as parameters
  if (inputs.length === 0 && request.parameters === undefined) throw errors.badRequest('inputs must not be empty', 'inputs');
  if (inputs.length > limits.maxInputs) {
    throw errors.badRequest(
      `request has ${plural(inputs.length, 'input')}, over the limit of ${limits.maxInputs} (maxInputs)`,
      'inputs',
    );
  }
  const total = { elements: 0 };
  for (let i = 0; i < inputs.length; i++) {
    request.inputs.push(decodeInput(inputs[i], i, request.inputs, limits, total, external));
  }

  if (body.outputs !== undefined) {
    const outputs = decodeOutputs(body.outputs);
    if (outputs !== undefined) request.outputs = outputs;
  }
  return request;
}
