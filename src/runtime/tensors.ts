/**
 * Conversion between the core Tensor and onnxruntime's Tensor. The core storage types were chosen to
 * be exactly what ORT wants (BOOL as Uint8Array, FP16 as Uint16Array bits, INT64 as BigInt64Array),
 * so both directions hand over the same typed array: no element is copied.
 */
import { Tensor as OrtTensor } from 'onnxruntime-node';
import { errors } from '../errors.js';
import type { Datatype, Tensor, TensorData } from '../protocol/types.js';

/** ORT's element type names (InferenceSession metadata and Tensor.type). */
export type OrtType = OrtTensor.Type;

const TO_ORT: Record<Datatype, OrtType> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const FROM_ORT = new Map<string, Datatype>(
  Object.entries(TO_ORT).map(([datatype, ort]) => [ort, datatype as Datatype]),
);

/** The protocol datatype for an ORT element type name, or undefined if Berth cannot serve it (e.g. int4). */
export function datatypeFromOrt(type: string): Datatype | undefined {
  return FROM_ORT.get(type);
}

/** The ORT element type name for a protocol datatype. */
export function ortTypeOf(datatype: Datatype): OrtType {
  return TO_ORT[datatype];
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Wraps a core tensor as an ORT tensor over the same typed array (no copy). */
export function toOrtTensor(t: Tensor): OrtTensor {
  if (t.data.length !== elementCount(t.shape)) {
    throw errors.shape(
      `input '${t.name}' has ${t.data.length} elements but shape [${t.shape.join(', ')}] needs ${elementCount(t.shape)}`,
      t.name,
    );
  }
  try {
    return new OrtTensor(TO_ORT[t.datatype], t.data, t.shape);
  } catch (e) {
    // ORT checks the typed array matches the type (e.g. FP32 must be a Float32Array).
    throw errors.datatype(`input '${t.name}' (${t.datatype}): ${e instanceof Error ? e.message : String(e)}`, t.name);
  }
}

/** Reads an ORT output back into a core tensor, sharing its typed array. */
export function fromOrtTensor(name: string, datatype: Datatype, value: OrtTensor): Tensor {
  const raw: unknown = value.data;
  let data: TensorData;
  if (datatype === 'FP16' && !(raw instanceof Uint16Array) && ArrayBuffer.isView(raw)) {
    // Where a global Float16Array exists (newer Node), ORT returns one; the core keeps half bits.
    data = new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
  } else {
    data = value.data;
  }
  return { name, datatype, shape: Array.from(value.dims), data };
}
