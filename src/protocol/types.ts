/** Open Inference Protocol v2 shapes (REST JSON), and the core tensor type every front end decodes into. */

export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];

export type Parameters = Record<string, string | number | boolean>;

/** Name, datatype and shape of a model input or output; -1 marks a dimension of any size. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/**
 * Element storage, row-major:
 * BOOL -> Uint8Array (0/1), UINT8..UINT32/INT8..INT32/FP32/FP64 -> the matching typed array,
 * INT64 -> BigInt64Array, UINT64 -> BigUint64Array, FP16 -> Uint16Array (IEEE 754 half bits),
 * BYTES -> string[].
 */
export type TensorData =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array
  | string[];

/** A decoded tensor: what the runtime consumes and produces, whatever the wire format. */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
  /** Per-tensor protocol parameters (e.g. Triton's `binary_data_size`), when the wire carried any. */
  parameters?: Parameters;
}

/** The protocol-neutral request every front end (REST, gRPC) translates into. */
export interface InferRequest {
  id?: string;
  parameters?: Parameters;
  inputs: Tensor[];
  /** Names of the outputs to return; undefined means all of them. */
  outputs?: { name: string; parameters?: Parameters }[];
}

export interface InferResponse {
  modelName: string;
  modelVersion: string;
  id?: string;
  parameters?: Parameters;
  outputs: Tensor[];
}

// ---- REST JSON wire shapes ----
export type JsonData = unknown[];

export interface V2InputJson {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: Parameters;
  data: JsonData;
}

export interface V2RequestJson {
  id?: string;
  parameters?: Parameters;
  inputs: V2InputJson[];
  outputs?: { name: string; parameters?: Parameters }[];
}

export interface V2ModelMetadata {
  name: string;
  versions?: string[];
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** Platform string the protocol uses for ONNX models. */
export const ONNX_PLATFORM = 'onnx_onnxv1';
