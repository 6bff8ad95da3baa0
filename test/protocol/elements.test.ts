import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { DEFAULT_DECODE_LIMITS, decodeInferRequest, type DecodeOptions } from '../../src/protocol/index.js';

function decodeError(body: unknown, options?: DecodeOptions): BerthError {
  try {
    decodeInferRequest(body, options);
  } catch (e) {
    if (e instanceof BerthError) return e;
    throw e;
  }
  throw new Error('expected a BerthError');
}

const one = (datatype: string, data: unknown[], shape: number[] = [data.length]) => ({
  inputs: [{ name: 'x', datatype, shape, data }],
});

describe('decodeInferRequest: element values', () => {
  it.each<[string, unknown[], string]>([
    ['FP32', [1, 2, 3, 'abc'], `element 3 is "abc", expected a number (or "NaN", "Infinity", "-Infinity") for FP32`],
    ['FP64', [null], 'element 0 is null, expected a number (or "NaN", "Infinity", "-Infinity") for FP64'],
    ['FP16', [true], 'element 0 is true, expected a number (or "NaN", "Infinity", "-Infinity") for FP16'],
    ['FP32', ['Inf'], 'element 0 is "Inf", expected a number (or "NaN", "Infinity", "-Infinity") for FP32'],
    ['FP32', [1e39], 'element 0 (1e+39) is out of range for FP32'],
    ['FP32', [-3.5e38], 'element 0 (-3.5e+38) is out of range for FP32'],
    ['FP16', [65520], 'element 0 (65520) is out of range for FP16'],
    ['UINT8', [1, 2, 300], 'element 2 (300) is out of range for UINT8 (0 to 255)'],
    ['UINT8', [-1], 'element 0 (-1) is out of range for UINT8 (0 to 255)'],
    ['INT8', [128], 'element 0 (128) is out of range for INT8 (-128 to 127)'],
    ['INT16', [-32769], 'element 0 (-32769) is out of range for INT16 (-32768 to 32767)'],
    ['UINT16', [65536], 'element 0 (65536) is out of range for UINT16 (0 to 65535)'],
    ['INT32', [2147483648], 'element 0 (2147483648) is out of range for INT32 (-2147483648 to 2147483647)'],
    ['UINT32', [4294967296], 'element 0 (4294967296) is out of range for UINT32 (0 to 4294967295)'],
    ['INT32', [1, 1.5], 'element 1 (1.5) is not an integer (INT32)'],
    ['UINT8', ['1'], 'element 0 is "1", expected an integer for UINT8'],
    ['INT32', [Number.NaN], 'element 0 (NaN) is not an integer (INT32)'],
    ['INT64', [2.5], 'element 0 (2.5) is not an integer (INT64)'],
    ['INT64', ['12a'], 'element 0 is "12a", expected an integer or a decimal integer string for INT64'],
    ['INT64', ['1e3'], 'element 0 is "1e3", expected an integer or a decimal integer string for INT64'],
    ['INT64', [{}], 'element 0 is an object, expected an integer or a decimal integer string for INT64'],
    ['INT64', ['9223372036854775808'], 'element 0 (9223372036854775808) is out of range for INT64 (-9223372036854775808 to 9223372036854775807)'],
    ['UINT64', ['18446744073709551616'], 'element 0 (18446744073709551616) is out of range for UINT64 (0 to 18446744073709551615)'],
    ['UINT64', [-1], 'element 0 (-1) is out of range for UINT64 (0 to 18446744073709551615)'],
    ['UINT64', ['-5'], 'element 0 (-5) is out of range for UINT64 (0 to 18446744073709551615)'],
    ['INT64', ['123456789012345678901234'], 'element 0 is "123456789012345678901234", expected an integer or a decimal integer string for INT64'],
    [
      'INT64',
      [2 ** 53],
      'element 0 (9007199254740992) is beyond 2^53 and may have lost precision as a JSON number; send INT64 values that large as decimal strings',
    ],
    ['BOOL', [true, 1], 'element 1 is 1, expected true or false for BOOL'],
    ['BOOL', ['true'], 'element 0 is "true", expected true or false for BOOL'],
    ['BYTES', ['a', 5], 'element 1 is 5, expected a string for BYTES'],
  ])('rejects %s data %j', (dt, data, message) => {
    const e = decodeError(one(dt, data));
    expect(e.kind).toBe('DATATYPE');
    expect(e.field).toBe('inputs[0].data');
    expect(e.message).toBe(`inputs[0] ('x'): ${message}`);
  });

  it('truncates long strings it quotes in a message', () => {
    const e = decodeError(one('FP32', ['a'.repeat(1000)]));
    expect(e.message).toBe(`inputs[0] ('x'): element 0 is "${'a'.repeat(40)}…", expected a number (or "NaN", "Infinity", "-Infinity") for FP32`);
  });

  it('stores -0 as 0 for integer datatypes', () => {
    const data = decodeInferRequest(one('INT32', [-0])).inputs[0]!.data as Int32Array;
    expect(Object.is(data[0], 0)).toBe(true);
  });
});

describe('decodeInferRequest: limits', () => {
  const fp32 = (n: number) => ({ name: `x${n}`, datatype: 'FP32', shape: [1], data: [n] });

  it('uses the documented defaults', () => {
    expect(DEFAULT_DECODE_LIMITS).toEqual({
      maxInputs: 64,
      maxRank: 8,
      maxElementsPerInput: 16_777_216,
      maxTotalElements: 16_777_216,
      maxStringBytes: 1_048_576,
    });
  });

  it('accepts 64 inputs and rejects 65', () => {
    const inputs = Array.from({ length: 65 }, (_, i) => fp32(i));
    expect(decodeInferRequest({ inputs: inputs.slice(0, 64) }).inputs).toHaveLength(64);
    const e = decodeError({ inputs });
    expect(e.kind).toBe('BAD_REQUEST');
    expect(e.message).toBe('request has 65 inputs, over the limit of 64 (maxInputs)');
    expect(decodeError({ inputs: inputs.slice(0, 3) }, { maxInputs: 2 }).message).toContain('(maxInputs)');
  });

  it('rejects a shape over the rank limit', () => {
    const shape = [1, 1, 1, 1, 1, 1, 1, 1, 1];
    expect(decodeInferRequest(one('FP32', [1], shape.slice(1))).inputs[0]!.shape).toHaveLength(8);
    const e = decodeError(one('FP32', [1], shape));
    expect(e.kind).toBe('BAD_REQUEST');
    expect(e.field).toBe('inputs[0].shape');
    expect(e.message).toBe("inputs[0] ('x'): shape has 9 dimensions, over the limit of 8 (maxRank)");
  });

  it('rejects an input over the element limit from its shape alone', () => {
    const e = decodeError(one('FP32', [], [4096, 4097]));
    expect(e.kind).toBe('BAD_REQUEST');
    expect(e.message).toBe(
      "inputs[0] ('x'): shape [4096,4097] has 16781312 elements, over the limit of 16777216 per input (maxElementsPerInput)",
    );
    const huge = decodeError(one('FP32', [], [2 ** 40, 2 ** 40, 2 ** 40]));
    expect(huge.message).toContain('(maxElementsPerInput)');
    expect(decodeError(one('FP32', [1, 2, 3], [3]), { maxElementsPerInput: 2 }).message).toContain('(maxElementsPerInput)');
  });

  it('counts elements across inputs against the total limit', () => {
    const body = {
      inputs: [
        { name: 'a', datatype: 'INT8', shape: [3], data: [1, 2, 3] },
        { name: 'b', datatype: 'INT8', shape: [3], data: [1, 2, 3] },
      ],
    };
    expect(decodeInferRequest(body, { maxTotalElements: 6 }).inputs).toHaveLength(2);
    const e = decodeError(body, { maxTotalElements: 5 });
    expect(e.kind).toBe('BAD_REQUEST');
    expect(e.message).toBe("inputs[1] ('b'): the request's inputs hold 6 elements so far, over the limit of 5 (maxTotalElements)");
  });

  it('limits BYTES elements by their UTF-8 length', () => {
    const opts = { maxStringBytes: 6 };
    expect(decodeInferRequest(one('BYTES', ['abcdef', 'ééé']), opts).inputs[0]!.data).toEqual(['abcdef', 'ééé']);
    const e = decodeError(one('BYTES', ['ok', 'éééé']), opts);
    expect(e.kind).toBe('BAD_REQUEST');
    expect(e.message).toBe("inputs[0] ('x'): element 1 is a string of 8 bytes, over the limit of 6 bytes (maxStringBytes)");
    const big = decodeError(one('BYTES', ['x'.repeat(1_048_577)]));
    expect(big.message).toContain('1048577 bytes, over the limit of 1048576 bytes (maxStringBytes)');
  });

  it('applies whichever options object each call passes', () => {
    const body = { inputs: [fp32(1), fp32(2), fp32(3)] };
    const strict = { maxInputs: 2 };
    expect(decodeError(body, strict).message).toContain('(maxInputs)');
    expect(decodeInferRequest(body, { maxInputs: 3 }).inputs).toHaveLength(3);
    expect(decodeError(body, strict).message).toContain('(maxInputs)');
    expect(decodeInferRequest(body).inputs).toHaveLength(3);
  });

  it('refuses a nonsensical limit', () => {
    expect(() => decodeInferRequest(one('FP32', [1]), { maxRank: -1 })).toThrow(RangeError);
  });
});
