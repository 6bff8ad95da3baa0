/**
 * A leaner wire codec for ModelInfer, the one hot method. proto-loader's codec runs protobufjs's
 * decode and then `toObject` (a full copy of the message that turns every int64 into a decimal
 * string), and `fromObject` (another full copy) before encode. Here the same protobufjs types, built
 * from the same .proto with the same options, decode and encode directly: the bytes on the wire are
 * identical, and the decoded request has the shape messages.ts reads (see `normalizeRequest`).
 * Every other method keeps proto-loader's codec.
 */
import { createRequire } from 'node:module';
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type * as Protobuf from 'protobufjs';
import type { InferParameterMsg, ModelInferRequestMsg, ModelInferResponseMsg, TensorContentsMsg } from './messages.js';
import { inferenceService, protoPath } from './proto.js';

/** A protobufjs 64-bit integer (a `long` Long), as decode gives int64/uint64 fields. */
interface LongValue {
  toNumber(): number;
  toString(): string;
}

type Int64 = number | string | LongValue;

interface Codec {
  request: Protobuf.Type;
  response: Protobuf.Type;
}

let codec: Codec | undefined;

/** The protobufjs types, from the protobufjs that proto-loader itself uses (keepCase, as in proto.ts). */
function types(): Codec {
  if (codec) return codec;
  const load = createRequire(createRequire(import.meta.url).resolve('@grpc/proto-loader'));
  const protobuf = load('protobufjs') as typeof Protobuf;
  const root = new protobuf.Root().loadSync(protoPath(), { keepCase: true });
  root.resolveAll();
  codec = { request: root.lookupType('inference.ModelInferRequest'), response: root.lookupType('inference.ModelInferResponse') };
  return codec;
}

/** A 64-bit dimension as a number (exact when safe; as `Number(decimal string)` beyond, as before). */
function dimension(v: Int64): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  const n = v.toNumber();
  return Number.isSafeInteger(n) ? n : Number(v.toString());
}

/** int64/uint64 parameter values as decimal strings (what proto-loader's `longs: String` gave). */
function normalizeParameters(map: Record<string, InferParameterMsg> | undefined): void {
  if (map === undefined) return;
  for (const k in map) {
    const p = map[k] as { int64_param?: Int64; uint64_param?: Int64 };
    if (p.int64_param !== undefined && Object.hasOwn(p, 'int64_param')) p.int64_param = String(p.int64_param);
    if (p.uint64_param !== undefined && Object.hasOwn(p, 'uint64_param')) p.uint64_param = String(p.uint64_param);
  }
}

/** int64/uint64 typed contents as decimal strings (lossless; the REST decoder reads them so). */
function normalizeContents(c: TensorContentsMsg | null | undefined): void {
  if (!c) return;
  const longs = c as { int64_contents?: Int64[]; uint64_contents?: Int64[] };
  if (longs.int64_contents?.length) c.int64_contents = longs.int64_contents.map(String);
  if (longs.uint64_contents?.length) c.uint64_contents = longs.uint64_contents.map(String);
}

/**
 * Turns a decoded protobufjs message into a ModelInferRequestMsg: only the 64-bit fields change (Longs
 * become numbers for shapes, decimal strings elsewhere). Unset fields read as proto3 defaults through
 * the message prototype ('' strings, empty arrays and maps, null `contents`), as `defaults: true`
 * gave; `parameter_choice` is protobufjs's oneof getter.
 */
export function normalizeRequest(decoded: unknown): ModelInferRequestMsg {
  const msg = decoded as ModelInferRequestMsg;
  normalizeParameters(msg.parameters);
  for (const t of msg.inputs ?? []) {
    if (t.shape && t.shape.length > 0) t.shape = (t.shape as Int64[]).map(dimension);
    normalizeParameters(t.parameters);
    normalizeContents(t.contents);
  }
  for (const o of msg.outputs ?? []) normalizeParameters(o.parameters);
  return msg;
}

/** Wire bytes -> ModelInferRequestMsg (throws on malformed bytes, as proto-loader's deserializer does). */
export function deserializeModelInferRequest(bytes: Buffer): ModelInferRequestMsg {
  return normalizeRequest(types().request.decode(bytes));
}

/** ModelInferResponseMsg -> wire bytes. Its fields already hold what encode takes (numbers, strings, Buffers). */
export function serializeModelInferResponse(msg: ModelInferResponseMsg): Buffer {
  const bytes = types().response.encode(msg).finish();
  // grpc-js copies the answer with Buffer#copy; protobufjs gives a Buffer under Node, but say so
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The service definition to serve: proto-loader's, with the lean codec on ModelInfer. */
export function inferenceServiceDefinition(): ServiceDefinition<UntypedServiceImplementation> {
  types();
  const base = inferenceService().service;
  const infer = base.ModelInfer;
  if (infer === undefined) throw new Error('inference.proto has no ModelInfer');
  return {
    ...base,
    ModelInfer: { ...infer, requestDeserialize: deserializeModelInferRequest, responseSerialize: serializeModelInferResponse },
  };
}
