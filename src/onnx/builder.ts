/**
 * Builds ONNX ModelProto bytes from a plain description of a graph. Field numbers follow onnx.proto
 * (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto, TypeProto).
 */
import { errors } from '../errors.js';
import { float32ToFloat16Bits } from './half.js';
import { ProtoWriter } from './protobuf.js';

export type OnnxElemType =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'string';

/** A graph input or output; a string dimension is symbolic (e.g. 'batch'), a negative one unknown. */
export interface ValueInfo {
  name: string;
  type: OnnxElemType;
  shape: (number | string)[];
}

/**
 * A constant tensor. Numeric data may be a plain array (float16 given as numbers is converted to
 * half bits) or a typed array holding the exact element bytes (float16 as Uint16Array bits).
 */
export interface InitTensor {
  name: string;
  type: OnnxElemType;
  dims: number[];
  data: number[] | bigint[] | string[] | boolean[] | ArrayBufferView;
}

export type AttrValue =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: number[] }
  | { floats: number[] }
  | { strings: string[] }
  | { t: InitTensor };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes?: Record<string, AttrValue>;
}

export interface ModelSpec {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: NodeSpec[];
  initializers?: InitTensor[];
  /** Default-domain (ai.onnx) opset; 17 when omitted. */
  opset?: number;
  /** Opsets for other domains (e.g. `{ 'ai.onnx.ml': 3 }`); domains used by nodes default sensibly. */
  opsetImports?: Record<string, number>;
  producer?: string;
  graphName?: string;
  metadata?: Record<string, string>;
}

/** TensorProto.DataType codes and element sizes in bytes (0 for string). */
const ELEM: Record<OnnxElemType, { code: number; size: number }> = {
  float32: { code: 1, size: 4 },
  uint8: { code: 2, size: 1 },
  int8: { code: 3, size: 1 },
  uint16: { code: 4, size: 2 },
  int16: { code: 5, size: 2 },
  int32: { code: 6, size: 4 },
  int64: { code: 7, size: 8 },
  string: { code: 8, size: 0 },
  bool: { code: 9, size: 1 },
  float16: { code: 10, size: 2 },
  float64: { code: 11, size: 8 },
  uint32: { code: 12, size: 4 },
  uint64: { code: 13, size: 8 },
};

/** The TensorProto.DataType code ONNX uses for an element type. */
export function onnxElemTypeCode(type: OnnxElemType): number {
  return ELEM[type].code;
}

const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** Opsets for non-default domains when the spec does not name one. */
const DEFAULT_DOMAIN_OPSETS: Record<string, number> = { 'ai.onnx.ml': 3, 'com.microsoft': 1 };

const utf8 = new TextEncoder();

/** Serializes a model to ONNX protobuf bytes. */
export function buildModel(spec: ModelSpec): Uint8Array {
  const opset = spec.opset ?? 17;
  const graph = new ProtoWriter();
  for (const node of spec.nodes) graph.message(1, nodeProto(node));
  graph.string(2, spec.graphName ?? 'main');
  for (const init of spec.initializers ?? []) graph.message(5, tensorProto(init));
  for (const input of spec.inputs) graph.message(11, valueInfoProto(input));
  for (const output of spec.outputs) graph.message(12, valueInfoProto(output));

  const model = new ProtoWriter();
  model.varint(1, irVersionFor(opset));
  model.string(2, spec.producer ?? 'berth');
  for (const [domain, version] of opsetImports(spec, opset)) {
    const id = new ProtoWriter();
    if (domain !== '') id.string(1, domain);
    model.message(8, id.varint(2, version));
  }
  model.message(7, graph);
  for (const [key, value] of Object.entries(spec.metadata ?? {})) {
    model.message(14, new ProtoWriter().string(1, key).string(2, value));
  }
  // Copy out of the writer's oversized buffer so callers hold exactly the model bytes.
  return model.finish().slice();
}

/** The lowest IR version that every runtime accepting this opset understands. */
function irVersionFor(opset: number): number {
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

function opsetImports(spec: ModelSpec, opset: number): Map<string, number> {
  const out = new Map<string, number>([['', opset]]);
  for (const node of spec.nodes) {
    const d = node.domain ?? '';
    if (d !== '' && d !== 'ai.onnx' && !out.has(d)) out.set(d, DEFAULT_DOMAIN_OPSETS[d] ?? 1);
  }
  for (const [d, v] of Object.entries(spec.opsetImports ?? {})) out.set(d === 'ai.onnx' ? '' : d, v);
  return out;
}

function nodeProto(node: NodeSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of node.inputs) w.string(1, i);
  for (const o of node.outputs) w.string(2, o);
  if (node.name !== undefined) w.string(3, node.name);
  w.string(4, node.op);
  for (const [name, value] of Object.entries(node.attributes ?? {})) w.message(5, attributeProto(name, value));
  if (node.domain !== undefined && node.domain !== '') w.string(7, node.domain);
  return w;
}

function attributeProto(name: string, value: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if ('f' in value) return w.float(2, value.f).varint(20, ATTR.FLOAT);
  if ('i' in value) return w.varint(3, checkInt(value.i, name)).varint(20, ATTR.INT);
  if ('s' in value) return w.string(4, value.s).varint(20, ATTR.STRING);
  if ('t' in value) return w.message(5, tensorProto(value.t)).varint(20, ATTR.TENSOR);
  if ('floats' in value) return w.packedFloats(7, value.floats).varint(20, ATTR.FLOATS);
  if ('ints' in value) {
    return w.packedVarints(8, value.ints.map((v) => checkInt(v, name))).varint(20, ATTR.INTS);
  }
  for (const s of value.strings) w.string(9, s);
  return w.varint(20, ATTR.STRINGS);
}

function checkInt(v: number, where: string): number {
  if (!Number.isSafeInteger(v)) throw errors.invalidModel(`attribute '${where}': ${v} is not an integer`);
  return v;
}

function valueInfoProto(v: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'string') dim.string(2, d);
    else if (d >= 0) dim.varint(1, checkInt(d, `${v.name}.shape`));
    // A negative dimension is written as a Dimension with neither value nor param: unknown size.
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().varint(1, ELEM[v.type].code).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

function tensorProto(t: InitTensor): ProtoWriter {
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw errors.invalidModel(`tensor '${t.name}': bad dimension ${d}`);
  }
  const count = t.dims.reduce((a, b) => a * b, 1);
  const w = new ProtoWriter();
  w.packedVarints(1, t.dims);
  w.varint(2, ELEM[t.type].code);
  w.string(8, t.name);
  if (t.type === 'string') {
    if (ArrayBuffer.isView(t.data) || !t.data.every((s): s is string => typeof s === 'string')) {
      throw errors.invalidModel(`tensor '${t.name}': string data must be a string[]`);
    }
    checkCount(t, t.data.length, count);
    for (const s of t.data) w.bytes(6, utf8.encode(s));
    return w;
  }
  return w.bytes(9, rawData(t, count));
}

function checkCount(t: InitTensor, got: number, want: number): void {
  if (got !== want) {
    throw errors.invalidModel(`tensor '${t.name}': ${got} elements for dims [${t.dims.join(', ')}] (${want})`);
  }
}

/** Little-endian fixed-width element bytes, as TensorProto.raw_data requires. */
function rawData(t: InitTensor, count: number): Uint8Array {
  const size = ELEM[t.type].size;
  if (ArrayBuffer.isView(t.data)) {
    // Typed arrays are host-endian; every platform Node ships on is little-endian.
    checkCount(t, t.data.byteLength / size, count);
    return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  }
  const values: readonly unknown[] = t.data;
  checkCount(t, values.length, count);
  const out = new Uint8Array(count * size);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < count; i++) writeElem(dv, i * size, t.type, values[i], t.name);
  return out;
}

function writeElem(dv: DataView, at: number, type: OnnxElemType, v: unknown, name: string): void {
  if (type === 'int64' || type === 'uint64') {
    if (typeof v !== 'bigint' && !(typeof v === 'number' && Number.isInteger(v))) {
      throw errors.invalidModel(`tensor '${name}': ${String(v)} is not an integer`);
    }
    const big = BigInt(v);
    if (type === 'int64') dv.setBigInt64(at, BigInt.asIntN(64, big), true);
    else dv.setBigUint64(at, BigInt.asUintN(64, big), true);
    return;
  }
  const n = typeof v === 'boolean' ? Number(v) : typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number') throw errors.invalidModel(`tensor '${name}': ${String(v)} is not a number`);
  switch (type) {
    case 'float32':
      dv.setFloat32(at, n, true);
      return;
    case 'float64':
      dv.setFloat64(at, n, true);
      return;
    case 'float16':
      dv.setUint16(at, float32ToFloat16Bits(n), true);
      return;
    case 'bool':
      dv.setUint8(at, n !== 0 ? 1 : 0);
      return;
    case 'int8':
      dv.setInt8(at, n);
      return;
    case 'uint8':
      dv.setUint8(at, n);
      return;
    case 'int16':
      dv.setInt16(at, n, true);
      return;
    case 'uint16':
      dv.setUint16(at, n, true);
      return;
    case 'int32':
      dv.setInt32(at, n, true);
      return;
    case 'uint32':
      dv.setUint32(at, n, true);
      return;
    default:
      throw errors.invalidModel(`tensor '${name}': cannot encode ${type} as raw data`);
  }
}
