import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type AttrValue,
  buildModel,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  type InitTensor,
  type OnnxElemType,
  ProtoWriter,
} from '../../src/onnx/index.js';
import {
  ALL_ELEM_TYPES,
  allTypesModel,
  failingModel,
  fixedShapeModel,
  identityModel,
  slowModel,
  twoInOutModel,
} from '../fixtures/models.js';

const sessions: InferenceSession[] = [];
async function open(bytes: Uint8Array): Promise<InferenceSession> {
  const s = await InferenceSession.create(bytes, { logSeverityLevel: 4 });
  sessions.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.release()));
});

const HALF_BITS = Uint16Array.from([1, -0.25, 65504, 2 ** -24, -0, Number.POSITIVE_INFINITY].map(float32ToFloat16Bits));

/** Six sample values of each type (for a [3, 2] or [2, 3] tensor), including awkward ones. */
function sample(type: OnnxElemType): Tensor {
  const dims = [3, 2];
  switch (type) {
    case 'float32':
      return new Tensor(type, Float32Array.from([0, -1.5, 3.25, 1e30, -1e-30, Number.NaN]), dims);
    case 'float64':
      return new Tensor(type, Float64Array.from([0, -1.5, Math.PI, 1e300, -5e-324, Number.NaN]), dims);
    case 'float16':
      return new Tensor(type, HALF_BITS, dims);
    case 'int8':
      return new Tensor(type, Int8Array.from([-128, -1, 0, 1, 64, 127]), dims);
    case 'int16':
      return new Tensor(type, Int16Array.from([-32768, -1, 0, 1, 300, 32767]), dims);
    case 'int32':
      return new Tensor(type, Int32Array.from([-(2 ** 31), -1, 0, 1, 70000, 2 ** 31 - 1]), dims);
    case 'int64':
      return new Tensor(type, BigInt64Array.from([-(2n ** 63n), -1n, 0n, 2n ** 53n + 1n, 2n ** 62n + 3n, 2n ** 63n - 1n]), dims);
    case 'uint8':
      return new Tensor(type, Uint8Array.from([0, 1, 2, 127, 128, 255]), dims);
    case 'uint16':
      return new Tensor(type, Uint16Array.from([0, 1, 2, 300, 32768, 65535]), dims);
    case 'uint32':
      return new Tensor(type, Uint32Array.from([0, 1, 2, 70000, 2 ** 31, 2 ** 32 - 1]), dims);
    case 'uint64':
      return new Tensor(type, BigUint64Array.from([0n, 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 2n, 2n ** 64n - 1n]), dims);
    case 'bool':
      return new Tensor(type, Uint8Array.from([1, 0, 0, 1, 1, 0]), dims);
    case 'string':
      return new Tensor(type, ['', 'a', 'héllo', '🚀 rocket', 'tab\there', 'x'.repeat(300)], dims);
  }
}

describe('float16 helpers', () => {
  it('round-trips every half bit pattern (NaNs stay NaN)', () => {
    const wrong: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = float16BitsToFloat32(bits);
      const back = float32ToFloat16Bits(value);
      const ok = Number.isNaN(value) ? (back & 0x7c00) === 0x7c00 && (back & 0x3ff) !== 0 : back === bits;
      if (!ok) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds halfway cases to even and overflows to infinity', () => {
    const one = float32ToFloat16Bits(1);
    const next = float16BitsToFloat32(one + 1);
    expect(float32ToFloat16Bits((1 + next) / 2)).toBe(one); // tie -> even mantissa
    expect(float32ToFloat16Bits((next + float16BitsToFloat32(one + 2)) / 2)).toBe(one + 2);
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0); // half the smallest subnormal ties to 0
    expect(float32ToFloat16Bits(2 ** -25 * 1.0001)).toBe(1);
    expect(float16BitsToFloat32(float32ToFloat16Bits(65520))).toBe(Number.POSITIVE_INFINITY);
    expect(float16BitsToFloat32(float32ToFloat16Bits(-1e9))).toBe(Number.NEGATIVE_INFINITY);
  });
});

describe('ProtoWriter', () => {
  it('writes varints as the protobuf spec describes', () => {
    expect([...new ProtoWriter().varint(1, 150).finish()]).toEqual([0x08, 0x96, 0x01]);
    const minusOne = new ProtoWriter().varint(1, -1).finish();
    expect(minusOne.length).toBe(11); // tag + ten bytes of 64-bit two's complement
    expect([...new ProtoWriter().varint(2, 2n ** 63n).finish()].slice(-2)).toEqual([0x80, 0x01]);
  });

  it('writes length-delimited strings', () => {
    expect([...new ProtoWriter().string(2, 'testing').finish()]).toEqual([
      0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67,
    ]);
  });
});

describe('fixture models run in onnxruntime-node', () => {
  it.each(ALL_ELEM_TYPES)('identity returns its %s input unchanged', async (type) => {
    const session = await open(identityModel(type, ['batch', 2]));
    const x = sample(type);
    const { y } = await session.run({ x });
    expect(y!.type).toBe(type);
    expect(y!.dims).toEqual([3, 2]);
    expect(y!.data).toEqual(x.data);
  });

  it('all-types model passes every type through its own input/output pair', async () => {
    const session = await open(allTypesModel());
    expect(session.inputNames).toEqual(ALL_ELEM_TYPES.map((t) => `in_${t}`));
    const feeds = Object.fromEntries(ALL_ELEM_TYPES.map((t) => [`in_${t}`, sample(t)]));
    const out = await session.run(feeds);
    for (const t of ALL_ELEM_TYPES) expect(out[`out_${t}`]!.data).toEqual(feeds[`in_${t}`]!.data);
  });

  it('two-in/out model adds and multiplies', async () => {
    const session = await open(twoInOutModel());
    const a = Float32Array.from([1, 2, 3, 4]);
    const b = Float32Array.from([10, -20, 0.5, 4]);
    const out = await session.run({ a: new Tensor('float32', a, [2, 2]), b: new Tensor('float32', b, [2, 2]) });
    expect(Array.from(out.sum!.data as Float32Array)).toEqual(Array.from(a, (v, i) => v + b[i]!));
    expect(Array.from(out.product!.data as Float32Array)).toEqual(Array.from(a, (v, i) => v * b[i]!));
  });

  it('fixed-shape model accepts [2, 3] and rejects other shapes', async () => {
    const session = await open(fixedShapeModel());
    expect(session.inputMetadata[0]).toMatchObject({ shape: [2, 3] });
    const x = new Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    expect((await session.run({ x })).y!.data).toEqual(x.data);
    await expect(session.run({ x: new Tensor('float32', new Float32Array(6), [3, 2]) })).rejects.toThrow();
  });

  it('failing model looks values up in range and throws out of range', async () => {
    const session = await open(failingModel());
    const ok = await session.run({ index: new Tensor('int64', [0n, 3n, -1n], [3]) });
    expect(Array.from(ok.value!.data as Float32Array)).toEqual([0, 30, 90]);
    await expect(session.run({ index: new Tensor('int64', [10n], [1]) })).rejects.toThrow(/out of data bounds/);
  });

  it('slow model returns its input, and more iterations take longer', async () => {
    const x = new Tensor('float32', Float32Array.from([1.5, -2, 3.25, 7, 0, -0.125, 1e-7, 42]), [2, 4]);
    /** Fastest of five runs: the minimum is what the model costs, free of scheduling noise. */
    const time = async (iterations: number) => {
      const session = await open(slowModel(iterations));
      expect((await session.run({ x })).y!.data).toEqual(x.data); // warm-up, and y == x exactly
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        await session.run({ x });
        best = Math.min(best, performance.now() - start);
      }
      return best;
    };
    const fast = await time(1);
    const slow = await time(100);
    expect(slow).toBeGreaterThan(fast * 3);
  });
});

describe('buildModel encodings', () => {
  /** A model with no inputs whose output `c` is the given initializer. */
  function constantOf(t: InitTensor): Uint8Array {
    return buildModel({
      inputs: [],
      outputs: [{ name: 'c', type: t.type, shape: t.dims }],
      initializers: [t],
      nodes: [{ op: 'Identity', inputs: [t.name], outputs: ['c'] }],
    });
  }

  it.each(ALL_ELEM_TYPES)('writes %s initializers from typed arrays and from plain arrays', async (type) => {
    const want = sample(type);
    const typed = await open(constantOf({ name: 'k', type, dims: [3, 2], data: want.data }));
    expect((await typed.run({})).c!.data).toEqual(want.data);

    const plain: InitTensor['data'] =
      type === 'float16'
        ? Array.from(want.data as Uint16Array, float16BitsToFloat32)
        : type === 'bool'
          ? Array.from(want.data as Uint8Array, (v) => v === 1)
          : Array.from(want.data as ArrayLike<number | bigint | string>) as number[] | bigint[] | string[];
    const fromPlain = await open(constantOf({ name: 'k', type, dims: [3, 2], data: plain }));
    expect((await fromPlain.run({})).c!.data).toEqual(want.data);
  });

  it('writes scalars (dims []) and int64 given as numbers', async () => {
    const session = await open(constantOf({ name: 'k', type: 'int64', dims: [], data: [-7] }));
    const { c } = await session.run({});
    expect(c!.dims).toEqual([]);
    expect(c!.data).toEqual(BigInt64Array.from([-7n]));
  });

  it('rejects data whose length does not match dims', () => {
    expect(() => constantOf({ name: 'k', type: 'float32', dims: [2, 2], data: [1, 2, 3] })).toThrow(/3 elements/);
  });

  // [Constant's attribute, value, output type, output dims, expected data]
  const attrs: [string, AttrValue, OnnxElemType, number[], unknown][] = [
    ['value_float', { f: 2.5 }, 'float32', [], Float32Array.from([2.5])],
    ['value_floats', { floats: [1, -2.5] }, 'float32', [2], Float32Array.from([1, -2.5])],
    ['value_int', { i: -3 }, 'int64', [], BigInt64Array.from([-3n])],
    ['value_ints', { ints: [1, -2, 2 ** 40] }, 'int64', [3], BigInt64Array.from([1n, -2n, 2n ** 40n])],
    ['value_string', { s: 'héllo' }, 'string', [], ['héllo']],
    ['value_strings', { strings: ['a', '', 'ü'] }, 'string', [3], ['a', '', 'ü']],
    ['value', { t: { name: 't', type: 'int32', dims: [2], data: [5, -6] } }, 'int32', [2], Int32Array.from([5, -6])],
  ];
  it.each(attrs)('encodes the %s attribute kind (via Constant)', async (name, value, type, dims, expected) => {
    const session = await open(
      buildModel({
        inputs: [],
        outputs: [{ name: 'c', type, shape: dims }],
        nodes: [{ op: 'Constant', inputs: [], outputs: ['c'], attributes: { [name]: value } }],
      }),
    );
    const { c } = await session.run({});
    expect(c!.dims).toEqual(dims);
    expect(c!.data).toEqual(expected);
  });

  it('marks symbolic and unknown dimensions as such', async () => {
    const bytes = buildModel({
      inputs: [{ name: 'x', type: 'float32', shape: ['batch', -1, 4] }],
      outputs: [{ name: 'y', type: 'float32', shape: ['batch', -1, 4] }],
      nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
      opset: 13,
      metadata: { author: 'berth' },
    });
    const session = await open(bytes);
    expect(session.inputMetadata[0]).toMatchObject({ isTensor: true, type: 'float32', shape: ['batch', '', 4] });
  });
});
