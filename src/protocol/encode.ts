/**
 * InferResponse -> V2 REST JSON, written by hand: typed storage goes straight to text without an
 * intermediate array of boxed numbers, and INT64/UINT64 keep every digit.
 *
 * Number formatting (details in floats.ts):
 * - FP32: the shortest decimal that reads back as the same float32 ("0.1", not the float64
 *   expansion "0.10000000149011612"); FP16 likewise for half bits; FP64: String(n).
 * - -0 prints "-0"; NaN and +-Infinity, which JSON numbers cannot carry, print as the strings
 *   "NaN", "Infinity", "-Infinity" (the forms decodeInferRequest accepts back).
 * - INT64/UINT64 print their exact integer digits, even beyond 2^53.
 */
import { BerthError } from '../errors.js';
import { elementCount, formatShape, isStorageFor } from './datatypes.js';
import { formatFloat16, formatFloat32, formatFloat64 } from './floats.js';
import type { InferResponse, Parameters, Tensor } from './types.js';

/** JSON text of a value known to be JSON-safe (strings, finite numbers, booleans, plain objects). */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value);
}

/** The body of a V2 error response: `{"error": "<message>"}`. */
export function encodeError(message: string): string {
  return `{"error":${JSON.stringify(message)}}`;
}

/** True when the floats need per-element care: a NaN, an infinity or a negative zero. */
function hasSpecialFloat(a: Float32Array | Float64Array): boolean {
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v - v !== 0 || (v === 0 && 1 / v < 0)) return true;
  }
  return false;
}

function joinFloat32(a: Float32Array): string {
  if (a.length === 0) return '[]';
  let s = `[${formatFloat32(a[0]!)}`;
  for (let i = 1; i < a.length; i++) s += `,${formatFloat32(a[i]!)}`;
  return `${s}]`;
}

function joinFloat16(a: Uint16Array): string {
  if (a.length === 0) return '[]';
  let s = `[${formatFloat16(a[0]!)}`;
  for (let i = 1; i < a.length; i++) s += `,${formatFloat16(a[i]!)}`;
  return `${s}]`;
}

function joinFloat64(a: Float64Array): string {
  // Native join already prints the shortest round-trip form of ordinary doubles.
  if (!hasSpecialFloat(a)) return `[${a.join(',')}]`;
  let s = '[';
  for (let i = 0; i < a.length; i++) s += (i === 0 ? '' : ',') + formatFloat64(a[i]!);
  return `${s}]`;
}

function joinBool(a: Uint8Array): string {
  if (a.length === 0) return '[]';
  let s = a[0] ? '[true' : '[false';
  for (let i = 1; i < a.length; i++) s += a[i] ? ',true' : ',false';
  return `${s}]`;
}

/** The JSON text of a tensor's `data`, flat and row-major. */
export function encodeTensorData(t: Tensor): string {
  const d = t.data;
  switch (t.datatype) {
    case 'FP32':
      return joinFloat32(d as Float32Array);
    case 'FP16':
      return joinFloat16(d as Uint16Array);
    case 'FP64':
      return joinFloat64(d as Float64Array);
    case 'BOOL':
      return joinBool(d as Uint8Array);
    case 'BYTES':
      return JSON.stringify(d);
    default:
      // 8..64-bit integers: native join prints exact digits (BigInt arrays included).
      return `[${(d as Exclude<typeof d, string[]>).join(',')}]`;
  }
}

function internal(message: string): BerthError {
  return new BerthError('INTERNAL', message);
}

/** The JSON of frozen parameter objects (a router's per-variant parameters), made once each. */
const frozenParameters = new WeakMap<Parameters, string>();

function encodeParameters(p: Parameters | undefined): string {
  if (p === undefined) return '';
  const frozen = Object.isFrozen(p);
  if (frozen) {
    const known = frozenParameters.get(p);
    if (known !== undefined) return known;
  }
  let s = '';
  for (const _ in p) {
    s = `,"parameters":${JSON.stringify(p)}`;
    break;
  }
  if (frozen) frozenParameters.set(p, s);
  return s;
}

/** The JSON text of one output tensor: `{"name","datatype","shape","parameters"?,"data"}`. */
export function encodeTensor(t: Tensor): string {
  if (!isStorageFor(t.datatype, t.data)) {
    throw internal(`output '${t.name}': data storage does not match datatype ${t.datatype}`);
  }
  const count = elementCount(t.shape);
  if (t.data.length !== count) {
    throw internal(`output '${t.name}': data has ${t.data.length} elements but shape ${formatShape(t.shape)} needs ${count}`);
  }
  return (
    `{"name":${JSON.stringify(t.name)},"datatype":"${t.datatype}","shape":${formatShape(t.shape)}` +
    `${encodeParameters(t.parameters)},"data":${encodeTensorData(t)}}`
  );
}

/**
 * Serializes a V2 REST response:
 * `{"model_name","model_version","id"?,"parameters"?,"outputs":[...]}`; `id` only when the request
 * had one, `parameters` only when non-empty. Throws INTERNAL if an output's data disagrees with its
 * datatype or shape (a runtime bug, not a client error).
 */
export function encodeInferResponse(res: InferResponse): string {
  let s = `{"model_name":${JSON.stringify(res.modelName)},"model_version":${JSON.stringify(res.modelVersion)}`;
  if (res.id !== undefined) s += `,"id":${JSON.stringify(res.id)}`;
  s += encodeParameters(res.parameters);
  s += ',"outputs":[';
  for (let i = 0; i < res.outputs.length; i++) s += (i === 0 ? '' : ',') + encodeTensor(res.outputs[i]!);
  return `${s}]}`;
}
