import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { float32ToFloat16Bits } from '../../src/onnx/index.js';
import { type Datatype, decodeRawTensor, encodeRawTensor, rawByteLength, type RawTarget, type Tensor } from '../../src/protocol/index.js';

const target = (datatype: Datatype, shape: number[], extra: Partial<RawTarget> = {}): RawTarget => ({
  datatype,
  shape,
  count: shape.reduce((a, b) => a * b, 1),
  label: "inputs[0] ('x')",
  field: 'raw_input_contents[0]',
  maxStringBytes: 1024,
  ...extra,
});

function decodeError(raw: Uint8Array, t: RawTarget): BerthError {
  try {
    decodeRawTensor(raw, t);
  } catch (e) {
    if (e instanceof BerthError) return e;
    throw e;
  }
  throw new Error('decoded; expected an error');
}

/** Length-prefixed BYTES elements, built by hand. */
function bytesBlob(parts: (string | Buffer)[]): Buffer {
  return Buffer.concat(
    parts.flatMap((p) => {
      const body = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
      const n = Buffer.alloc(4);
      n.writeUInt32LE(body.length);
      return [n, body];
    }),
  );
}

describe('decodeRawTensor', () => {
  it('reads little-endian elements of every fixed-size datatype into their storage', () => {
    const b = Buffer.alloc(8 * 4);
    [1.5, -2.25, 0.1, 1e30].forEach((x, i) => { b.writeFloatLE(x, 4 * i); });
    expect(Array.from(decodeRawTensor(b.subarray(0, 16), target('FP32', [2, 2])) as Float32Array)).toEqual([1.5, -2.25, Math.fround(0.1), Math.fround(1e30)]);

    const d = Buffer.alloc(16);
    d.writeDoubleLE(0.1, 0);
    d.writeDoubleLE(-1e300, 8);
    expect(decodeRawTensor(d, target('FP64', [2]))).toEqual(new Float64Array([0.1, -1e300]));

    const h = Buffer.alloc(4);
    h.writeUInt16LE(float32ToFloat16Bits(0.5), 0);
    h.writeUInt16LE(float32ToFloat16Bits(-65504), 2);
    expect(decodeRawTensor(h, target('FP16', [2]))).toEqual(new Uint16Array([0x3800, 0xfbff]));

    expect(decodeRawTensor(Buffer.from([0x80, 0x7f]), target('INT8', [2]))).toEqual(new Int8Array([-128, 127]));
    expect(decodeRawTensor(Buffer.from([0x00, 0x80, 0xff, 0x7f]), target('INT16', [2]))).toEqual(new Int16Array([-32768, 32767]));
    expect(decodeRawTensor(Buffer.from([1, 0, 0, 0x80]), target('INT32', [1]))).toEqual(new Int32Array([-2147483647]));
    const i64 = Buffer.alloc(16);
    i64.writeBigInt64LE(-(2n ** 63n), 0);
    i64.writeBigInt64LE(2n ** 63n - 1n, 8);
    expect(decodeRawTensor(i64, target('INT64', [2]))).toEqual(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]));
    expect(decodeRawTensor(Buffer.from([0, 255]), target('UINT8', [2]))).toEqual(new Uint8Array([0, 255]));
    expect(decodeRawTensor(Buffer.from([0xff, 0xff, 1, 0]), target('UINT16', [2]))).toEqual(new Uint16Array([65535, 1]));
    expect(decodeRawTensor(Buffer.from([0xff, 0xff, 0xff, 0xff]), target('UINT32', [1]))).toEqual(new Uint32Array([4294967295]));
    const u64 = Buffer.alloc(8);
    u64.writeBigUInt64LE(2n ** 64n - 1n);
    expect(decodeRawTensor(u64, target('UINT64', [1]))).toEqual(new BigUint64Array([2n ** 64n - 1n]));
    expect(decodeRawTensor(Buffer.from([1, 0, 1]), target('BOOL', [3]))).toEqual(new Uint8Array([1, 0, 1]));
  });

  it('reads from an unaligned view and copies, so the caller may reuse its buffer', () => {
    const backing = Buffer.alloc(9);
    backing.writeFloatLE(3.5, 1);
    backing.writeFloatLE(-1, 5);
    const view = backing.subarray(1);
    const data = decodeRawTensor(view, target('FP32', [2]));
    backing.fill(0);
    expect(Array.from(data as Float32Array)).toEqual([3.5, -1]);
  });

  it('refuses a size that does not match the shape, naming the field', () => {
    const e = decodeError(Buffer.alloc(10), target('FP32', [1, 3]));
    expect(e.kind).toBe('BAD_REQUEST');
    expect(e.field).toBe('raw_input_contents[0]');
    expect(e.message).toBe("inputs[0] ('x'): raw data has 10 bytes, but shape [1,3] of FP32 needs 12 (3 × 4)");
  });

  it('accepts an empty tensor', () => {
    expect(decodeRawTensor(Buffer.alloc(0), target('INT32', [0, 3]))).toEqual(new Int32Array(0));
    expect(decodeRawTensor(Buffer.alloc(0), target('BYTES', [0]))).toEqual([]);
  });

  it('refuses a BOOL byte other than 0 or 1', () => {
    const e = decodeError(Buffer.from([1, 2]), target('BOOL', [2]));
    expect(e.kind).toBe('DATATYPE');
    expect(e.message).toBe("inputs[0] ('x'): raw BOOL element 1 is byte 2, expected 0 or 1");
  });

  it('reads BYTES as 4-byte lengths followed by UTF-8', () => {
    expect(decodeRawTensor(bytesBlob(['a', '', 'héllo', '日本']), target('BYTES', [2, 2]))).toEqual(['a', '', 'héllo', '日本']);
  });

  it('refuses BYTES that are truncated, left over, too long or not UTF-8', () => {
    expect(decodeError(bytesBlob(['a']), target('BYTES', [2])).message).toBe(
      "inputs[0] ('x'): raw BYTES data ends after 1 element (5 bytes), but shape [2] needs 2",
    );
    const lying = Buffer.from([9, 0, 0, 0, 0x61]);
    expect(decodeError(lying, target('BYTES', [1])).message).toBe("inputs[0] ('x'): raw BYTES element 0 declares 9 bytes but only 1 remain");
    expect(decodeError(bytesBlob(['a', 'b']), target('BYTES', [1])).message).toBe(
      "inputs[0] ('x'): raw BYTES data has 5 bytes left over after the 1 element shape [1] holds",
    );
    expect(decodeError(bytesBlob(['abcdef']), target('BYTES', [1], { maxStringBytes: 4 })).message).toMatch(
      /element 0 is a string of 6 bytes, over the limit of 4 bytes \(maxStringBytes\)/,
    );
    const invalid = decodeError(bytesBlob([Buffer.from([0xff, 0xfe])]), target('BYTES', [1]));
    expect(invalid.kind).toBe('DATATYPE');
    expect(invalid.message).toMatch(/raw BYTES element 0 is not valid UTF-8/);
  });
});

describe('encodeRawTensor', () => {
  const tensor = (datatype: Datatype, shape: number[], data: Tensor['data']): Tensor => ({ name: 'y', datatype, shape, data });

  it('writes fixed-size elements little-endian, as a view of the storage', () => {
    const data = new Int32Array([1, -2]);
    const raw = encodeRawTensor(tensor('INT32', [2], data));
    expect([...raw]).toEqual([1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
    expect(raw.buffer).toBe(data.buffer);
    expect([...encodeRawTensor(tensor('UINT64', [1], new BigUint64Array([258n])))]).toEqual([2, 1, 0, 0, 0, 0, 0, 0]);
    expect([...encodeRawTensor(tensor('FP16', [1], new Uint16Array([0x3c00])))]).toEqual([0x00, 0x3c]);
    expect([...encodeRawTensor(tensor('BOOL', [2], new Uint8Array([1, 0])))]).toEqual([1, 0]);
  });

  it('writes BYTES as length-prefixed UTF-8, and reports its length beforehand', () => {
    const t = tensor('BYTES', [3], ['a', '', 'é']);
    const raw = encodeRawTensor(t);
    expect(Buffer.compare(raw, bytesBlob(['a', '', 'é']))).toBe(0);
    expect(rawByteLength(t)).toBe(raw.length);
    expect(rawByteLength(tensor('FP64', [2, 2], new Float64Array(4)))).toBe(32);
  });

  it('round-trips through decodeRawTensor for every datatype', () => {
    const samples: Tensor[] = [
      tensor('FP32', [2], new Float32Array([Number.NaN, -0])),
      tensor('FP16', [2], new Uint16Array([0x7e00, 0x8000])),
      tensor('FP64', [1], new Float64Array([Number.POSITIVE_INFINITY])),
      tensor('INT8', [1], new Int8Array([-5])),
      tensor('UINT32', [1], new Uint32Array([7])),
      tensor('INT64', [1], new BigInt64Array([-9n])),
      tensor('BYTES', [2], ['x', 'yz']),
    ];
    for (const t of samples) {
      const back = decodeRawTensor(encodeRawTensor(t), target(t.datatype, t.shape));
      expect(back, t.datatype).toEqual(t.data);
    }
  });

  it('refuses data that does not fill the shape (a runtime bug, not a client error)', () => {
    expect(() => encodeRawTensor(tensor('FP32', [3], new Float32Array(2)))).toThrow(/data has 2 elements but shape \[3\] needs 3/);
  });
});
