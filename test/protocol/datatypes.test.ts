import { describe, expect, it } from 'vitest';
import {
  allocateTensorData,
  DATATYPE_INFO,
  DATATYPES,
  elementCount,
  isDatatype,
  isStorageFor,
} from '../../src/protocol/index.js';

describe('DATATYPE_INFO', () => {
  it('has the element sizes the protocol lists', () => {
    const sizes = Object.fromEntries(DATATYPES.map((dt) => [dt, DATATYPE_INFO[dt].byteSize]));
    expect(sizes).toEqual({
      BOOL: 1,
      UINT8: 1,
      UINT16: 2,
      UINT32: 4,
      UINT64: 8,
      INT8: 1,
      INT16: 2,
      INT32: 4,
      INT64: 8,
      FP16: 2,
      FP32: 4,
      FP64: 8,
      BYTES: null,
    });
  });

  it('stores each datatype in a typed array of its element size (BYTES as strings)', () => {
    for (const dt of DATATYPES) {
      const { arrayType, byteSize } = DATATYPE_INFO[dt];
      expect(arrayType === null ? null : arrayType.BYTES_PER_ELEMENT, dt).toBe(byteSize);
    }
    expect(DATATYPE_INFO.FP16.arrayType).toBe(Uint16Array);
    expect(DATATYPE_INFO.BOOL.arrayType).toBe(Uint8Array);
    expect(DATATYPE_INFO.INT64.arrayType).toBe(BigInt64Array);
  });

  it('gives integer ranges, as bigints for 64-bit types', () => {
    expect(DATATYPE_INFO.UINT8.range).toEqual({ min: 0, max: 255 });
    expect(DATATYPE_INFO.INT32.range).toEqual({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    expect(DATATYPE_INFO.INT64.range).toEqual({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
    expect(DATATYPE_INFO.UINT64.range).toEqual({ min: 0n, max: 2n ** 64n - 1n });
    expect([DATATYPE_INFO.FP32.range, DATATYPE_INFO.BOOL.range, DATATYPE_INFO.BYTES.range]).toEqual([null, null, null]);
  });

  it('sorts datatypes into kinds', () => {
    const kinds = Object.fromEntries(DATATYPES.map((dt) => [dt, DATATYPE_INFO[dt].kind]));
    expect(kinds).toMatchObject({ BOOL: 'bool', UINT64: 'uint', INT8: 'int', FP16: 'float', FP64: 'float', BYTES: 'bytes' });
  });
});

describe('datatype helpers', () => {
  it('recognises V2 datatype names exactly', () => {
    expect(DATATYPES.every(isDatatype)).toBe(true);
    expect(['FLOAT32', 'fp32', 'BF16', '', 3, null].some(isDatatype)).toBe(false);
  });

  it('allocates storage that isStorageFor accepts', () => {
    for (const dt of DATATYPES) {
      const data = allocateTensorData(dt, 3);
      expect(data.length).toBe(3);
      expect(isStorageFor(dt, data), dt).toBe(true);
    }
    expect(allocateTensorData('BYTES', 2)).toEqual(['', '']);
    expect(isStorageFor('FP32', new Float64Array(1))).toBe(false);
    expect(isStorageFor('BYTES', new Uint8Array(1))).toBe(false);
  });

  it('counts elements of a shape, a scalar holding one', () => {
    expect([elementCount([2, 3, 4]), elementCount([]), elementCount([5, 0])]).toEqual([24, 1, 0]);
  });
});
