/**
 * ModelInferRequest -> InferRequest and InferResponse -> ModelInferResponse. Messages are the plain
 * objects @grpc/proto-loader gives with the options in proto.ts (field names as in the .proto,
 * 64-bit integers as decimal strings, bytes as Buffers, oneofs named by `parameter_choice`).
 *
 * Requests go through the same decoder as REST JSON (names, datatypes, shapes, limits, element
 * ranges): typed `contents` become its `data`, `raw_input_contents` its external data.
 *
 * Outputs are answered raw (`raw_output_contents`) when the request sent its inputs raw, or when an
 * output has no typed field (FP16); otherwise in typed `contents`. Triton always answers raw, and its
 * clients always send raw; they read `raw_output_contents` first, so they work with either rule.
 */
import { errors } from '../../errors.js';
import {
  DATATYPES,
  decodeInferRequest,
  decodeRawTensor,
  type Datatype,
  type ExternalData,
  encodeRawTensor,
  type InferRequest,
  type InferResponse,
  type Parameters,
  type Tensor,
} from '../../protocol/index.js';

/** `InferParameter`: exactly one of its fields is set, named by `parameter_choice`. */
export interface InferParameterMsg {
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
  bool_param?: boolean;
  int64_param?: string | number;
  string_param?: string;
  double_param?: number;
  uint64_param?: string | number;
}

export interface TensorContentsMsg {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: (string | number)[];
  uint_contents?: number[];
  uint64_contents?: (string | number)[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

export interface TensorMsg {
  name?: string;
  datatype?: string;
  shape?: (string | number)[];
  parameters?: Record<string, InferParameterMsg>;
  contents?: TensorContentsMsg | null;
}

export interface ModelInferRequestMsg {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameterMsg>;
  inputs?: TensorMsg[];
  outputs?: { name?: string; parameters?: Record<string, InferParameterMsg> }[];
  raw_input_contents?: Buffer[];
}

export interface ModelInferResponseMsg {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameterMsg>;
  outputs: TensorMsg[];
  raw_output_contents: Buffer[];
}

type ContentsField = keyof TensorContentsMsg;

/** The typed field each datatype travels in; FP16 has none (raw only). */
const FIELD: Readonly<Record<Datatype, ContentsField | null>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: null,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

const CONTENTS_FIELDS: readonly ContentsField[] = [
  'bool_contents',
  'int_contents',
  'int64_contents',
  'uint_contents',
  'uint64_contents',
  'fp32_contents',
  'fp64_contents',
  'bytes_contents',
];

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A 64-bit parameter as a number when it is exact, else as its decimal string. */
function int64Value(v: string | number | undefined): number | string {
  const n = Number(v ?? 0);
  return Number.isSafeInteger(n) ? n : String(v);
}

/** Whether a parameter map has any entry (without allocating its key list: most maps are empty). */
function hasEntries(map: Record<string, InferParameterMsg> | undefined): map is Record<string, InferParameterMsg> {
  if (map === undefined) return false;
  for (const _ in map) return true;
  return false;
}

/** InferParameter map -> protocol Parameters. */
export function toParameters(map: Record<string, InferParameterMsg> | undefined): Parameters | undefined {
  if (!hasEntries(map)) return undefined;
  const out: Parameters = {};
  for (const k of Object.keys(map)) {
    const p = map[k]!;
    switch (p.parameter_choice) {
      case 'bool_param':
        out[k] = p.bool_param === true;
        break;
      case 'int64_param':
        out[k] = int64Value(p.int64_param);
        break;
      case 'uint64_param':
        out[k] = int64Value(p.uint64_param);
        break;
      case 'double_param':
        out[k] = p.double_param ?? 0;
        break;
      case 'string_param':
        out[k] = p.string_param ?? '';
        break;
      default:
        throw errors.badRequest(`parameter '${k}' has no value (set one of bool_param, int64_param, string_param)`, `parameters.${k}`);
    }
  }
  return out;
}

/** One shared empty map for the many tensors and answers without parameters (encoders only read it). */
const NO_PARAMETERS: Record<string, InferParameterMsg> = Object.freeze({});

/** Protocol Parameters -> InferParameter map. */
export function fromParameters(p: Parameters | undefined): Record<string, InferParameterMsg> {
  if (p === undefined) return NO_PARAMETERS;
  const out: Record<string, InferParameterMsg> = {};
  for (const [k, v] of Object.entries(p)) {
    if (typeof v === 'boolean') out[k] = { bool_param: v };
    else if (typeof v === 'string') out[k] = { string_param: v };
    else if (Number.isSafeInteger(v)) out[k] = { int64_param: v };
    else out[k] = { double_param: v };
  }
  return out;
}

function nonEmpty(contents: TensorContentsMsg | null | undefined): ContentsField[] {
  if (!contents) return [];
  return CONTENTS_FIELDS.filter((f) => (contents[f]?.length ?? 0) > 0);
}

function bytesToStrings(buffers: readonly Buffer[], label: string, field: string, maxStringBytes: number): string[] {
  return buffers.map((b, i) => {
    if (b.length > maxStringBytes) {
      throw errors.badRequest(
        `${label}: element ${i} is a string of ${b.length} bytes, over the limit of ${maxStringBytes} bytes (maxStringBytes)`,
        field,
      );
    }
    try {
      return utf8.decode(b);
    } catch {
      throw errors.datatype(`${label}: element ${i} of bytes_contents is not valid UTF-8 (Berth holds BYTES as text)`, field);
    }
  });
}

/**
 * Translates a ModelInferRequest into the core request; throws BAD_REQUEST / SHAPE / DATATYPE with
 * the same messages REST gives (fields named as in the gRPC message where they differ).
 */
export function decodeModelInferRequest(msg: ModelInferRequestMsg): InferRequest {
  const inputs = msg.inputs ?? [];
  const raw = msg.raw_input_contents ?? [];
  const useRaw = raw.length > 0;
  if (useRaw && raw.length !== inputs.length) {
    throw errors.badRequest(
      `raw_input_contents has ${raw.length} entries but the request has ${inputs.length} inputs; send one per input, in input order`,
      'raw_input_contents',
    );
  }
  const body = {
    ...(msg.id ? { id: msg.id } : {}),
    ...(hasEntries(msg.parameters) ? { parameters: toParameters(msg.parameters) } : {}),
    inputs: inputs.map((t) => {
      const field = t.datatype !== undefined && (DATATYPES as readonly string[]).includes(t.datatype) ? FIELD[t.datatype as Datatype] : null;
      const params = toParameters(t.parameters);
      return {
        name: t.name,
        datatype: t.datatype,
        shape: (t.shape ?? []).map(Number),
        ...(params ? { parameters: params } : {}),
        data: field === null ? [] : ((t.contents?.[field] ?? []) as unknown[]),
      };
    }),
    ...(msg.outputs && msg.outputs.length > 0
      ? {
          outputs: msg.outputs.map((o) => {
            const parameters = toParameters(o.parameters);
            return { name: o.name, ...(parameters ? { parameters } : {}) };
          }),
        }
      : {}),
  };

  const external: ExternalData = ({ index, datatype, shape, count, label }, limits) => {
    const at = `inputs[${index}].contents`;
    const set = nonEmpty(inputs[index]!.contents);
    if (useRaw) {
      if (set.length > 0) {
        throw errors.badRequest(`${label}: carries contents.${set[0]} but the request sends raw_input_contents; send every input one way`, at);
      }
      const field = `raw_input_contents[${index}]`;
      return decodeRawTensor(raw[index]!, { datatype, shape, count, label, field, maxStringBytes: limits.maxStringBytes });
    }
    const want = FIELD[datatype];
    if (want === null) {
      throw errors.datatype(`${label}: ${datatype} has no typed contents field; send it in raw_input_contents`, at);
    }
    const stray = set.find((f) => f !== want);
    if (stray !== undefined) {
      throw errors.datatype(`${label}: ${datatype} elements go in contents.${want}, but contents.${stray} is set`, `${at}.${stray}`);
    }
    if (datatype === 'BYTES') {
      const strings = bytesToStrings(inputs[index]!.contents?.bytes_contents ?? [], label, `${at}.bytes_contents`, limits.maxStringBytes);
      body.inputs[index]!.data = strings;
    }
    return undefined;
  };
  return decodeInferRequest(body, undefined, external);
}

function typedContents(t: Tensor): TensorContentsMsg {
  const field = FIELD[t.datatype];
  const d = t.data;
  switch (field) {
    case 'bool_contents':
      return { bool_contents: Array.from(d as Uint8Array, (v) => v !== 0) };
    case 'int64_contents':
    case 'uint64_contents':
      return { [field]: Array.from(d as BigInt64Array | BigUint64Array, (v) => v.toString()) };
    case 'bytes_contents':
      return { bytes_contents: (d as string[]).map((s) => Buffer.from(s, 'utf8')) };
    case null:
      throw new Error(`unreachable: ${t.datatype} has no typed field`);
    default:
      return { [field]: Array.from(d as Exclude<typeof d, string[] | BigInt64Array | BigUint64Array>) };
  }
}

/** Translates a core response into a ModelInferResponse; `raw` when the request sent raw inputs. */
export function encodeModelInferResponse(res: InferResponse, rawRequested: boolean): ModelInferResponseMsg {
  const raw = rawRequested || res.outputs.some((o) => FIELD[o.datatype] === null);
  const outputs: TensorMsg[] = res.outputs.map((t) => ({
    name: t.name,
    datatype: t.datatype,
    shape: t.shape,
    parameters: fromParameters(t.parameters),
    ...(raw ? {} : { contents: typedContents(t) }),
  }));
  return {
    model_name: res.modelName,
    model_version: res.modelVersion,
    id: res.id ?? '',
    parameters: fromParameters(res.parameters),
    outputs,
    raw_output_contents: raw ? res.outputs.map(encodeRawTensor) : [],
  };
}
