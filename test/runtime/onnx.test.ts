import { afterAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { float32ToFloat16Bits, ProtoWriter } from '../../src/onnx/index.js';
import type { Datatype, Tensor, TensorData } from '../../src/protocol/types.js';
import { fromOrtTensor, inspectOnnx, type LoadedModel, OnnxRuntime, toOrtTensor } from '../../src/runtime/index.js';
import {
  ALL_ELEM_TYPES,
  allTypesModel,
  failingModel,
  fixedShapeModel,
  identityModel,
  slowModel,
  twoInOutModel,
} from '../fixtures/models.js';

const runtime = new OnnxRuntime();
const loaded: LoadedModel[] = [];
async function load(bytes: Uint8Array): Promise<LoadedModel> {
  const model = await runtime.load(bytes);
  loaded.push(model);
  return model;
}
afterAll(async () => {
  await Promise.all(loaded.map((m) => m.dispose()));
});

/** Resolves to the BerthError a promise rejects with (fails the test if it resolves). */
async function failure(p: Promise<unknown>): Promise<BerthError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BerthError);
  return e as BerthError;
}

/** The protocol datatype each ONNX element type should be served as. */
const PROTOCOL_TYPE: Record<(typeof ALL_ELEM_TYPES)[number], Datatype> = {
  float32: 'FP32',
  float16: 'FP16',
  float64: 'FP64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  bool: 'BOOL',
  string: 'BYTES',
};

/** Four values (a [2, 2] tensor) of a datatype in its core storage, including edge values. */
function sampleData(datatype: Datatype): TensorData {
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from([1, 0, 0, 1]);
    case 'UINT8':
      return Uint8Array.from([0, 1, 128, 255]);
    case 'UINT16':
      return Uint16Array.from([0, 1, 32768, 65535]);
    case 'UINT32':
      return Uint32Array.from([0, 1, 2 ** 31, 2 ** 32 - 1]);
    case 'UINT64':
      return BigUint64Array.from([0n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]);
    case 'INT8':
      return Int8Array.from([-128, -1, 0, 127]);
    case 'INT16':
      return Int16Array.from([-32768, -1, 0, 32767]);
    case 'INT32':
      return Int32Array.from([-(2 ** 31), -1, 0, 2 ** 31 - 1]);
    case 'INT64':
      return BigInt64Array.from([-(2n ** 63n), -(2n ** 53n) - 1n, 2n ** 53n + 1n, 2n ** 63n - 1n]);
    case 'FP16':
      return Uint16Array.from([0.5, -2, 65504, 2 ** -24].map(float32ToFloat16Bits));
    case 'FP32':
      return Float32Array.from([0, -1.5, 3.4e38, Number.NEGATIVE_INFINITY]);
    case 'FP64':
      return Float64Array.from([0, -1.5, Math.E, 5e-324]);
    case 'BYTES':
      return ['', 'plain', 'ünïcödé', '🚀'];
  }
}

/** Minimal hand-written ModelProto `y = op(x)`, for value types the builder deliberately cannot express. */
function handWritten(op: string, inputType: ProtoWriter, outputType: ProtoWriter): Uint8Array {
  const valueInfo = (name: string, type: ProtoWriter) => new ProtoWriter().string(1, name).message(2, type);
  const node = new ProtoWriter().string(1, 'x').string(2, 'y').string(4, op);
  const graph = new ProtoWriter()
    .message(1, node)
    .string(2, 'g')
    .message(11, valueInfo('x', inputType))
    .message(12, valueInfo('y', outputType));
  return new ProtoWriter().varint(1, 8).message(8, new ProtoWriter().varint(2, 17)).message(7, graph).finish();
}
/** TypeProto for a tensor of an ONNX data type code with shape [2] (or no shape when rank0). */
const tensorType = (elem: number, rank0 = false) => {
  const t = new ProtoWriter().varint(1, elem);
  if (!rank0) t.message(2, new ProtoWriter().message(1, new ProtoWriter().varint(1, 2)));
  return new ProtoWriter().message(1, t);
};
/** TypeProto for sequence<tensor<float>> (TypeProto.sequence_type = 4, Sequence.elem_type = 1). */
const sequenceType = () => new ProtoWriter().message(4, new ProtoWriter().message(1, tensorType(1)));

describe('OnnxRuntime.load: signatures', () => {
  it('reports symbolic dims as -1 and keeps fixed dims', async () => {
    const model = await load(identityModel('float32'));
    expect(model.signature).toEqual({
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 3] }],
    });
    const fixed = await load(fixedShapeModel());
    expect(fixed.signature.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [2, 3] }]);
  });

  it('lists inputs and outputs in model order', async () => {
    const model = await load(twoInOutModel());
    expect(model.signature.inputs.map((i) => i.name)).toEqual(['a', 'b']);
    expect(model.signature.outputs.map((o) => o.name)).toEqual(['sum', 'product']);
  });

  it('maps every ONNX element type to its protocol datatype', async () => {
    const model = await load(allTypesModel());
    expect(model.signature.inputs).toEqual(
      ALL_ELEM_TYPES.map((t) => ({ name: `in_${t}`, datatype: PROTOCOL_TYPE[t], shape: [-1, 2] })),
    );
  });

  it('inspectOnnx reads the signature without keeping the model', async () => {
    expect(await inspectOnnx(twoInOutModel())).toEqual((await load(twoInOutModel())).signature);
    expect((await failure(inspectOnnx(new Uint8Array([1, 2, 3])))).kind).toBe('INVALID_MODEL');
  });
});

describe('OnnxRuntime.load: rejections', () => {
  it.each([
    ['garbage', new TextEncoder().encode('definitely not a protobuf')],
    ['empty', new Uint8Array(0)],
    ['truncated', identityModel('float32').subarray(0, 20)],
  ])('rejects %s bytes as INVALID_MODEL with ORT’s reason', async (_, bytes) => {
    const e = await failure(runtime.load(bytes));
    expect(e.kind).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/^cannot load model: \S/);
  });

  it('rejects a non-tensor output, pointing at zipmap', async () => {
    const e = await failure(runtime.load(handWritten('SequenceConstruct', tensorType(1), sequenceType())));
    expect(e.kind).toBe('INVALID_MODEL');
    expect(e.message).toBe("output 'y' is not a tensor (sequence/map); export with zipmap disabled");
  });

  it('rejects a non-tensor input', async () => {
    const e = await failure(runtime.load(handWritten('SequenceLength', sequenceType(), tensorType(7, true))));
    expect(e.kind).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/^input 'x' is not a tensor/);
  });

  it('rejects element types the protocol has no datatype for (bfloat16)', async () => {
    const e = await failure(runtime.load(handWritten('Identity', tensorType(16), tensorType(16))));
    expect(e.kind).toBe('INVALID_MODEL');
    expect(e.message).toMatch(/bfloat16/);
  });
});

describe('OnnxModel.run', () => {
  it('round-trips all 13 datatypes through Identity', async () => {
    const model = await load(allTypesModel());
    const inputs: Tensor[] = model.signature.inputs.map((spec) => ({
      name: spec.name,
      datatype: spec.datatype,
      shape: [2, 2],
      data: sampleData(spec.datatype),
    }));
    const outputs = await model.run(inputs);
    expect(outputs.map((o) => o.name)).toEqual(model.signature.outputs.map((o) => o.name));
    outputs.forEach((out, i) => {
      expect(out.datatype).toBe(inputs[i]!.datatype);
      expect(out.shape).toEqual([2, 2]);
      expect(out.data).toEqual(inputs[i]!.data);
      expect(out.data.constructor).toBe(inputs[i]!.data.constructor);
    });
  });

  it('computes Add and Mul', async () => {
    const model = await load(twoInOutModel());
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const b = Float32Array.from([0.5, -2, 3, 0, 1e3, -6]);
    const [sum, product] = await model.run([
      { name: 'a', datatype: 'FP32', shape: [3, 2], data: a },
      { name: 'b', datatype: 'FP32', shape: [3, 2], data: b },
    ]);
    expect(sum).toEqual({ name: 'sum', datatype: 'FP32', shape: [3, 2], data: a.map((v, i) => v + b[i]!) });
    expect(product!.data).toEqual(a.map((v, i) => v * b[i]!));
  });

  it('returns only the requested outputs, in signature order', async () => {
    const model = await load(twoInOutModel());
    const one = Float32Array.from([2, 3]);
    const inputs: Tensor[] = [
      { name: 'a', datatype: 'FP32', shape: [1, 2], data: one },
      { name: 'b', datatype: 'FP32', shape: [1, 2], data: one },
    ];
    expect((await model.run(inputs, ['product'])).map((t) => t.name)).toEqual(['product']);
    expect((await model.run(inputs, ['product', 'sum'])).map((t) => t.name)).toEqual(['sum', 'product']);
    const e = await failure(model.run(inputs, ['nope']));
    expect([e.kind, e.field]).toEqual(['BAD_REQUEST', 'outputs']);
  });

  it('reports a run-time model failure as INFERENCE and keeps serving', async () => {
    const model = await load(failingModel());
    const index = (v: bigint): Tensor[] => [{ name: 'index', datatype: 'INT64', shape: [1], data: BigInt64Array.of(v) }];
    const e = await failure(model.run(index(10n)));
    expect(e.kind).toBe('INFERENCE');
    expect(e.message).toMatch(/^model run failed: .*out of data bounds/);
    expect((await model.run(index(-1n)))[0]!.data).toEqual(Float32Array.of(90));
  });

  it('rejects data that does not fill the shape, or the wrong storage for the datatype', async () => {
    const model = await load(identityModel('float32'));
    const short = await failure(model.run([{ name: 'x', datatype: 'FP32', shape: [2, 3], data: new Float32Array(5) }]));
    expect([short.kind, short.field]).toEqual(['SHAPE', 'x']);
    const wrong = await failure(model.run([{ name: 'x', datatype: 'FP32', shape: [1, 3], data: new Float64Array(3) }]));
    expect(wrong.kind).toBe('DATATYPE');
  });

  it('serves overlapping runs on one model correctly', async () => {
    const model = await load(identityModel('int32', ['batch']));
    const runs = Array.from({ length: 20 }, (_, i) =>
      model.run([{ name: 'x', datatype: 'INT32', shape: [3], data: Int32Array.of(i, i * 2, -i) }]),
    );
    const results = await Promise.all(runs);
    results.forEach(([y], i) => {
      expect(y!.data).toEqual(Int32Array.of(i, i * 2, -i));
    });
  });
});

describe('tensor conversion', () => {
  it('hands the same typed array to ORT and back (no copies)', () => {
    const data = Uint16Array.from([1, 2, 3]);
    const ort = toOrtTensor({ name: 'h', datatype: 'FP16', shape: [3], data });
    expect(ort.type).toBe('float16');
    expect(ort.data).toBe(data);
    expect(fromOrtTensor('h', 'FP16', ort).data).toBe(data);
  });
});

describe('OnnxModel.dispose', () => {
  it('waits for in-flight runs, then refuses new ones', async () => {
    const model = await runtime.load(slowModel(50));
    const x = Float32Array.from([1, 2, 3, 4]);
    const inflight = model.run([{ name: 'x', datatype: 'FP32', shape: [1, 4], data: x }]);
    await model.dispose();
    expect((await inflight)[0]!.data).toEqual(x);
    const e = await failure(model.run([{ name: 'x', datatype: 'FP32', shape: [1, 4], data: x }]));
    expect(e.kind).toBe('NOT_READY');
    await model.dispose(); // idempotent
  });
});
