import { describe, expect, it } from 'vitest';
import type { InferResponse, Tensor } from '../../src/protocol/index.js';
import { deserializeModelInferRequest, serializeModelInferResponse } from '../../src/serving/grpc/codec.js';
import { inferenceService } from '../../src/serving/grpc/index.js';
import { decodeModelInferRequest, encodeModelInferResponse, type ModelInferRequestMsg } from '../../src/serving/grpc/messages.js';

// The lean ModelInfer codec must be indistinguishable from proto-loader's on the wire and after decoding.
const method = inferenceService().service.ModelInfer!;
const loaderSerialize = (msg: object): Buffer => method.requestSerialize(msg);
const loaderDeserialize = (bytes: Buffer): ModelInferRequestMsg => method.requestDeserialize(bytes);

/** Decodes `bytes` both ways through decodeModelInferRequest: the same request, or the same error. */
function bothWays(bytes: Buffer): { loader: unknown; lean: unknown } {
  const run = (msg: () => ModelInferRequestMsg) => {
    try {
      return { ok: decodeModelInferRequest(msg()) };
    } catch (e) {
      return { error: (e as Error).message, kind: (e as { kind?: string }).kind };
    }
  };
  return { loader: run(() => loaderDeserialize(bytes)), lean: run(() => deserializeModelInferRequest(bytes)) };
}

const tensors: Tensor[] = [
  { name: 'b', datatype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
  { name: 'u8', datatype: 'UINT8', shape: [2], data: Uint8Array.from([0, 255]) },
  { name: 'u16', datatype: 'UINT16', shape: [2], data: Uint16Array.from([0, 65535]) },
  { name: 'u32', datatype: 'UINT32', shape: [2], data: Uint32Array.from([0, 4294967295]) },
  { name: 'u64', datatype: 'UINT64', shape: [2], data: BigUint64Array.from([0n, 18446744073709551615n]) },
  { name: 'i8', datatype: 'INT8', shape: [2], data: Int8Array.from([-128, 127]) },
  { name: 'i16', datatype: 'INT16', shape: [2], data: Int16Array.from([-32768, 32767]) },
  { name: 'i32', datatype: 'INT32', shape: [2], data: Int32Array.from([-2147483648, 2147483647]) },
  { name: 'i64', datatype: 'INT64', shape: [1, 2], data: BigInt64Array.from([-9223372036854775808n, 9223372036854775807n]) },
  { name: 'f32', datatype: 'FP32', shape: [2, 2], data: Float32Array.from([0.5, -1.25, Number.NaN, Number.POSITIVE_INFINITY]) },
  { name: 'f64', datatype: 'FP64', shape: [2], data: Float64Array.from([Math.PI, -0]) },
  { name: 's', datatype: 'BYTES', shape: [2], data: ['héllo', ''] },
];

describe('lean ModelInfer codec', () => {
  it('encodes responses to the same bytes as proto-loader, typed and raw, with and without parameters', () => {
    const fp16: Tensor = { name: 'h', datatype: 'FP16', shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) };
    const responses: [InferResponse, boolean][] = [
      [{ modelName: 'm', modelVersion: '1', outputs: tensors }, false],
      [{ modelName: 'm', modelVersion: '1', outputs: tensors }, true],
      [{ modelName: 'm', modelVersion: '2', id: 'req-7', outputs: [...tensors, fp16] }, false],
      [
        {
          modelName: 'm',
          modelVersion: '3',
          id: 'x',
          parameters: { experiment: 'e1', variant: 'b', big: 2 ** 53 - 1, ratio: 0.25, flag: false },
          outputs: [{ ...tensors[9]!, parameters: { binary_data_size: 16, note: 'n' } }],
        },
        false,
      ],
    ];
    for (const [res, raw] of responses) {
      const msg = encodeModelInferResponse(res, raw);
      const lean = serializeModelInferResponse(msg);
      expect(Buffer.from(lean).equals(Buffer.from(method.responseSerialize(msg)))).toBe(true);
      expect(lean.length).toBeGreaterThan(20);
    }
  });

  it('decodes typed contents of every datatype, and raw contents, to the same request as proto-loader', () => {
    const typed = {
      model_name: 'm',
      id: 'r1',
      inputs: [
        { name: 'b', datatype: 'BOOL', shape: [3], contents: { bool_contents: [true, false, true] } },
        { name: 'u32', datatype: 'UINT32', shape: [2], contents: { uint_contents: [0, 4294967295] } },
        { name: 'u64', datatype: 'UINT64', shape: [2], contents: { uint64_contents: ['0', '18446744073709551615'] } },
        { name: 'i32', datatype: 'INT32', shape: [2], contents: { int_contents: [-5, 7] } },
        { name: 'i64', datatype: 'INT64', shape: [1, 2], contents: { int64_contents: ['-9223372036854775808', '42'] } },
        { name: 'f32', datatype: 'FP32', shape: [2], contents: { fp32_contents: [0.5, -1.5] } },
        { name: 'f64', datatype: 'FP64', shape: [1], contents: { fp64_contents: [Math.E] } },
        { name: 's', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [Buffer.from('héllo'), Buffer.from('')] } },
      ],
      outputs: [{ name: 'y', parameters: { binary_data: { bool_param: true } } }],
    };
    const raw = {
      model_name: 'm',
      model_version: '2',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2] }],
      raw_input_contents: [Buffer.from(Float32Array.from([1, 2, 3, 4]).buffer)],
    };
    for (const msg of [typed, raw]) {
      const { loader, lean } = bothWays(loaderSerialize(msg));
      expect(lean).toEqual(loader);
      expect(lean).toHaveProperty('ok.inputs');
    }
    const decoded = bothWays(loaderSerialize(typed)).lean as { ok: { inputs: Tensor[] } };
    expect(decoded.ok.inputs.find((t) => t.name === 'i64')!.data).toEqual(BigInt64Array.from([-9223372036854775808n, 42n]));
    expect(decoded.ok.inputs.find((t) => t.name === 'u64')!.data).toEqual(BigUint64Array.from([0n, 18446744073709551615n]));
  });

  it('decodes every kind of parameter, including 64-bit values beyond 2^53, as proto-loader does', () => {
    const msg = {
      model_name: 'm',
      parameters: {
        flag: { bool_param: false },
        small: { int64_param: '-12' },
        big: { int64_param: '9007199254740993' },
        ubig: { uint64_param: '18446744073709551615' },
        ratio: { double_param: 0.5 },
        name: { string_param: 'x' },
      },
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: { p: { int64_param: '3' } }, contents: { fp32_contents: [1] } }],
      outputs: [{ name: 'y', parameters: { q: { uint64_param: '7' } } }],
    };
    const { loader, lean } = bothWays(loaderSerialize(msg));
    expect(lean).toEqual(loader);
    expect(lean).toMatchObject({
      ok: { parameters: { flag: false, small: -12, big: '9007199254740993', ubig: '18446744073709551615', ratio: 0.5, name: 'x' } },
    });
  });

  it('rejects bad requests with the same error as proto-loader', () => {
    const cases: object[] = [
      { model_name: 'm', parameters: { empty: {} }, inputs: [] },
      { model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: ['9007199254740993'] }], raw_input_contents: [Buffer.alloc(4)] },
      { model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }], raw_input_contents: [Buffer.alloc(4)] },
      { model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }], raw_input_contents: [Buffer.alloc(4)] },
      { model_name: 'm', inputs: [{ name: 'x', datatype: 'INT64', shape: [1], contents: { fp32_contents: [1] } }] },
      { model_name: 'm', inputs: [{ name: 'x', datatype: 'FP16', shape: [1], contents: { fp32_contents: [1] } }] },
      { model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }, { name: 'z', datatype: 'FP32', shape: [1] }], raw_input_contents: [Buffer.alloc(4)] },
      { model_name: 'm', inputs: [{ name: 's', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from([0xff])] } }] },
    ];
    for (const msg of cases) {
      const { loader, lean } = bothWays(loaderSerialize(msg));
      expect(lean).toEqual(loader);
      expect(lean).toHaveProperty('error');
    }
  });

  it('throws on malformed bytes, as proto-loader does', () => {
    const garbage = Buffer.from([0x2a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(() => loaderDeserialize(garbage)).toThrow();
    expect(() => deserializeModelInferRequest(garbage)).toThrow();
  });
});
