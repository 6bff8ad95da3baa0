import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { decodeInferRequest, type Datatype, type DecodeOptions, type TensorData } from '../../src/protocol/index.js';

function req(input: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown {
  return { inputs: [{ name: 'x', ...input }], ...extra };
}

function decodeOne(datatype: string, shape: unknown, data: unknown): TensorData {
  return decodeInferRequest(req({ datatype, shape, data })).inputs[0]!.data;
}

/** Runs `fn`, expecting a BerthError; returns it so the test can check kind, message and field. */
function failure(fn: () => unknown): BerthError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BerthError) return e;
    throw e;
  }
  throw new Error('expected a BerthError');
}

function decodeError(body: unknown, options?: DecodeOptions): BerthError {
  return failure(() => decodeInferRequest(body, options));
}

describe('decodeInferRequest: every datatype', () => {
  it('decodes BOOL into 0/1 bytes', () => {
    const d = decodeOne('BOOL', [3], [true, false, true]);
    expect(d).toBeInstanceOf(Uint8Array);
    expect([...(d as Uint8Array)]).toEqual([1, 0, 1]);
  });

  it.each([
    ['UINT8', Uint8Array, [0, 255]],
    ['UINT16', Uint16Array, [0, 65535]],
    ['UINT32', Uint32Array, [0, 4294967295]],
    ['INT8', Int8Array, [-128, 127]],
    ['INT16', Int16Array, [-32768, 32767]],
    ['INT32', Int32Array, [-2147483648, 2147483647]],
  ] as const)('decodes %s at both ends of its range', (dt, ctor, values) => {
    const d = decodeOne(dt, [2], [...values]);
    expect(d).toBeInstanceOf(ctor);
    expect([...(d as Int32Array)]).toEqual(values);
  });

  it('decodes INT64 from safe integers and from decimal strings beyond 2^53', () => {
    const d = decodeOne('INT64', [5], [
      -9007199254740991,
      9007199254740991,
      '9007199254740993',
      '-9223372036854775808',
      '9223372036854775807',
    ]);
    expect(d).toBeInstanceOf(BigInt64Array);
    expect([...(d as BigInt64Array)]).toEqual([
      -9007199254740991n,
      9007199254740991n,
      9007199254740993n,
      -9223372036854775808n,
      9223372036854775807n,
    ]);
  });

  it('decodes UINT64 up to its maximum', () => {
    const d = decodeOne('UINT64', [3], [0, 42, '18446744073709551615']);
    expect(d).toBeInstanceOf(BigUint64Array);
    expect([...(d as BigUint64Array)]).toEqual([0n, 42n, 18446744073709551615n]);
  });

  it('decodes FP32 with float32 rounding, -0 and the non-finite words', () => {
    const d = decodeOne('FP32', [7], [0.1, -0, 'NaN', 'Infinity', '-Infinity', 'inf', '-inf']) as Float32Array;
    expect(d).toBeInstanceOf(Float32Array);
    expect(d[0]).toBe(Math.fround(0.1));
    expect(Object.is(d[1], -0)).toBe(true);
    expect(d[2]).toBeNaN();
    expect([d[3], d[4], d[5], d[6]]).toEqual([Infinity, -Infinity, Infinity, -Infinity]);
    expect(decodeOne('FP32', [1], ['nan'])[0]).toBeNaN();
  });

  it('decodes FP32 at its largest finite value', () => {
    const max = 3.4028234663852886e38;
    expect((decodeOne('FP32', [1], [max]) as Float32Array)[0]).toBe(max);
  });

  it('decodes FP64 exactly', () => {
    const d = decodeOne('FP64', [3], [0.1, Number.MAX_VALUE, 5e-324]) as Float64Array;
    expect(d).toBeInstanceOf(Float64Array);
    expect([...d]).toEqual([0.1, Number.MAX_VALUE, 5e-324]);
  });

  it('decodes FP16 to half bits, rounding to nearest even', () => {
    const d = decodeOne('FP16', [9], [
      1,
      -2,
      65504,
      1 + 2 ** -11, // halfway between 1 and the next half: ties to even (1)
      1 + 3 * 2 ** -11, // halfway, rounds up to even mantissa 2
      2 ** -24, // smallest subnormal
      -0,
      'Infinity',
      0.1,
    ]);
    expect(d).toBeInstanceOf(Uint16Array);
    expect([...(d as Uint16Array)]).toEqual([0x3c00, 0xc000, 0x7bff, 0x3c00, 0x3c02, 0x0001, 0x8000, 0x7c00, 0x2e66]);
    const nan = (decodeOne('FP16', [1], ['NaN']) as Uint16Array)[0]!;
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x03ff).not.toBe(0);
  });

  it('decodes BYTES as strings', () => {
    expect(decodeOne('BYTES', [3], ['', 'sun', 'héllo ✓'])).toEqual(['', 'sun', 'héllo ✓']);
  });

  it('decodes a scalar shape [] from one element', () => {
    expect([...(decodeOne('INT32', [], [7]) as Int32Array)]).toEqual([7]);
  });

  it('decodes empty tensors', () => {
    expect((decodeOne('FP32', [0, 3], []) as Float32Array).length).toBe(0);
    expect((decodeOne('FP32', [2, 0], [[], []]) as Float32Array).length).toBe(0);
  });
});

describe('decodeInferRequest: nested data', () => {
  it('gives the same tensor for nested and flat data', () => {
    const flat = decodeOne('FP32', [2, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const nested = decodeOne('FP32', [2, 2, 3], [
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [
        [7, 8, 9],
        [10, 11, 12],
      ],
    ]);
    expect(nested).toEqual(flat);
  });

  it.each<[Datatype, unknown[], unknown[]]>([
    ['BOOL', [[true], [false]], [true, false]],
    ['INT64', [['-9223372036854775808'], [5]], ['-9223372036854775808', 5]],
    ['BYTES', [['a'], ['b']], ['a', 'b']],
    ['FP16', [[0.5], ['NaN']], [0.5, 'NaN']],
  ])('nests %s the same way', (dt, nested, flat) => {
    expect(decodeOne(dt, [2, 1], nested)).toEqual(decodeOne(dt, [2, 1], flat));
  });

  it('rejects a ragged array', () => {
    const e = decodeError(req({ datatype: 'FP32', shape: [2, 3], data: [[1, 2, 3], [4, 5]] }));
    expect(e.kind).toBe('SHAPE');
    expect(e.field).toBe('inputs[0].data');
    expect(e.message).toBe("inputs[0] ('x'): data is ragged: data[1] has 2 elements, but data[0] has 3");
  });

  it('rejects a scalar where a sibling is an array', () => {
    const e = decodeError(req({ datatype: 'FP32', shape: [2, 1], data: [[1], 2] }));
    expect(e.message).toBe("inputs[0] ('x'): data is ragged: data[1] is 2, but data[0] has 1");
  });

  it('rejects an array deeper than the shape', () => {
    const e = decodeError(req({ datatype: 'FP32', shape: [2, 2], data: [[1, [2]], [3, 4]] }));
    expect(e.kind).toBe('SHAPE');
    expect(e.message).toBe("inputs[0] ('x'): data[0][1] is an array, but shape [2,2] has 2 dimensions");
  });

  it('rejects nesting that does not follow the shape', () => {
    const e = decodeError(req({ datatype: 'FP32', shape: [2, 3], data: [[1, 2], [3, 4], [5, 6]] }));
    expect(e.kind).toBe('SHAPE');
    expect(e.message).toBe(
      "inputs[0] ('x'): nested data does not match shape [2,3]: data has 3 elements, expected 2 (dimension 0)",
    );
    const partial = decodeError(req({ datatype: 'FP32', shape: [2, 2, 2], data: [[1, 2, 3, 4], [5, 6, 7, 8]] }));
    expect(partial.message).toBe(
      "inputs[0] ('x'): nested data does not match shape [2,2,2]: data[0] has 4 elements, expected an array of 2 (dimension 1)",
    );
    const shallow = decodeError(req({ datatype: 'FP32', shape: [2, 2, 2], data: [[1, 2], [3, 4]] }));
    expect(shallow.message).toBe(
      "inputs[0] ('x'): nested data does not match shape [2,2,2]: data[0][0] is 1, expected an array of 2 (dimension 2)",
    );
  });

  it('rejects arrays inside flat data', () => {
    const e = decodeError(req({ datatype: 'INT32', shape: [2, 2], data: [1, 2, [3], 4] }));
    expect(e.kind).toBe('SHAPE');
    expect(e.message).toBe(
      "inputs[0] ('x'): data mixes arrays and scalars (element 2 is an array); send it flat or nested exactly as [2,2]",
    );
    const rank1 = decodeError(req({ datatype: 'INT32', shape: [2], data: [[1], 2] }));
    expect(rank1.kind).toBe('SHAPE');
    expect(rank1.message).toBe("inputs[0] ('x'): element 0 is an array, but shape [2] has 1 dimension");
  });

  it('checks a huge declared shape against the data before allocating for it', () => {
    const flat = decodeError(req({ datatype: 'FP64', shape: [16_777_216], data: [1] }));
    expect(flat.message).toBe("inputs[0] ('x'): data has 1 element but shape [16777216] needs 16777216");
    const nested = decodeError(req({ datatype: 'FP64', shape: [1, 4096, 4096], data: [[[1, 2]]] }));
    expect(nested.message).toBe(
      "inputs[0] ('x'): nested data does not match shape [1,4096,4096]: data[0] has 1 element, expected an array of 4096 (dimension 1)",
    );
  });

  it('names a bad element of nested data by index and path', () => {
    const e = decodeError(req({ datatype: 'FP32', shape: [2, 2], data: [[1, 2], [3, 'abc']] }));
    expect(e.message).toBe(`inputs[0] ('x'): element 3 (data[1][1]) is "abc", expected a number (or "NaN", "Infinity", "-Infinity") for FP32`);
  });
});

describe('decodeInferRequest: request structure', () => {
  it('keeps id, parameters, input parameters and requested outputs', () => {
    const r = decodeInferRequest({
      id: 'r-1',
      parameters: { priority: 2, trace: true, tag: 'a' },
      inputs: [{ name: 'x', datatype: 'INT32', shape: [1], data: [1], parameters: { binary_data_size: 0 } }],
      outputs: [{ name: 'y', parameters: { binary_data: false } }, { name: 'z' }],
      model_name: 'ignored',
    });
    expect(r).toEqual({
      id: 'r-1',
      parameters: { priority: 2, trace: true, tag: 'a' },
      inputs: [{ name: 'x', datatype: 'INT32', shape: [1], data: Int32Array.of(1), parameters: { binary_data_size: 0 } }],
      outputs: [{ name: 'y', parameters: { binary_data: false } }, { name: 'z' }],
    });
  });

  it('treats an empty outputs list as all outputs', () => {
    expect(decodeInferRequest(req({ datatype: 'BOOL', shape: [1], data: [true] }, { outputs: [] })).outputs).toBeUndefined();
  });

  it('copies the shape rather than sharing the body array', () => {
    const shape = [1];
    const r = decodeInferRequest(req({ datatype: 'BOOL', shape, data: [true] }));
    expect(r.inputs[0]!.shape).toEqual([1]);
    expect(r.inputs[0]!.shape).not.toBe(shape);
  });

  it.each<[string, unknown, string, string | undefined]>([
    ['a non-object body', [1], 'request body must be a JSON object, got an array', undefined],
    ['a null body', null, 'request body must be a JSON object, got null', undefined],
    ['missing inputs', {}, 'inputs must be an array, got missing', 'inputs'],
    ['empty inputs', { inputs: [] }, 'inputs must not be empty', 'inputs'],
    ['a non-object input', { inputs: [3] }, 'inputs[0] must be an object, got 3', 'inputs[0]'],
    ['a nameless input', { inputs: [{ datatype: 'FP32', shape: [1], data: [1] }] }, 'inputs[0]: name must be a non-empty string, got missing', 'inputs[0].name'],
    ['a numeric id', req({ datatype: 'FP32', shape: [1], data: [1] }, { id: 7 }), 'id must be a string, got 7', 'id'],
    ['array parameters', req({ datatype: 'FP32', shape: [1], data: [1] }, { parameters: [] }), 'parameters must be an object, got an array', 'parameters'],
    ['a nested parameter', req({ datatype: 'FP32', shape: [1], data: [1] }, { parameters: { a: { b: 1 } } }), "parameter 'a' is an object, expected a string, number or boolean", 'parameters.a'],
    ['a null input parameter', req({ datatype: 'FP32', shape: [1], data: [1], parameters: { p: null } }), "inputs[0] ('x'): parameter 'p' is null, expected a string, number or boolean", 'inputs[0].parameters.p'],
    ['missing data', req({ datatype: 'FP32', shape: [1] }), "inputs[0] ('x'): data must be an array, got missing", 'inputs[0].data'],
    ['non-array outputs', req({ datatype: 'FP32', shape: [1], data: [1] }, { outputs: {} }), 'outputs must be an array, got an object', 'outputs'],
    ['a nameless output', req({ datatype: 'FP32', shape: [1], data: [1] }, { outputs: [{ name: 3 }] }), 'outputs[0]: name must be a non-empty string, got 3', 'outputs[0].name'],
    ['a repeated output', req({ datatype: 'FP32', shape: [1], data: [1] }, { outputs: [{ name: 'y' }, { name: 'y' }] }), "outputs[1] ('y'): output requested twice (also outputs[0])", 'outputs[1].name'],
    ['output parameters of the wrong type', req({ datatype: 'FP32', shape: [1], data: [1] }, { outputs: [{ name: 'y', parameters: 'x' }] }), `outputs[0] ('y'): parameters must be an object, got "x"`, 'outputs[0].parameters'],
  ])('rejects %s', (_, body, message, field) => {
    const e = decodeError(body);
    expect(e.kind).toBe('BAD_REQUEST');
    expect(e.status).toBe(400);
    expect(e.message).toBe(message);
    expect(e.field).toBe(field);
  });

  it('rejects duplicate input names before converting their data', () => {
    const e = decodeError({
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1], data: [1] },
        { name: 'a', datatype: 'FP32', shape: [1], data: ['not a number'] },
      ],
    });
    expect(e.kind).toBe('BAD_REQUEST');
    expect(e.message).toBe("inputs[1] ('a'): duplicate input name (also inputs[0])");
  });

  it('rejects a datatype that is not a V2 datatype, listing the valid ones', () => {
    const e = decodeError(req({ datatype: 'FLOAT32', shape: [1], data: [1] }));
    expect(e.kind).toBe('DATATYPE');
    expect(e.field).toBe('inputs[0].datatype');
    expect(e.message).toBe(
      "inputs[0] ('x'): datatype 'FLOAT32' is not a V2 datatype (expected one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES)",
    );
    expect(decodeError(req({ datatype: 'fp32', shape: [1], data: [1] })).kind).toBe('DATATYPE');
  });

  it.each<[unknown, string]>([
    [undefined, 'shape must be an array of non-negative integers, got missing'],
    ['2,3', 'shape must be an array of non-negative integers, got "2,3"'],
    [[2, -1], 'shape must be an array of non-negative integers, got [2,-1] (dimension 1 is -1)'],
    [[1.5], 'shape must be an array of non-negative integers, got [1.5] (dimension 0 is 1.5)'],
    [[2, '3'], 'shape must be an array of non-negative integers, got [2,"3"] (dimension 1 is "3")'],
  ])('rejects shape %j', (shape, message) => {
    const e = decodeError(req({ datatype: 'FP32', shape, data: [1] }));
    expect(e.kind).toBe('SHAPE');
    expect(e.field).toBe('inputs[0].shape');
    expect(e.message).toBe(`inputs[0] ('x'): ${message}`);
  });

  it('rejects data whose element count does not match the shape', () => {
    const e = decodeError({
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1], data: [1] },
        { name: 'b', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5] },
      ],
    });
    expect(e.kind).toBe('SHAPE');
    expect(e.field).toBe('inputs[1].data');
    expect(e.message).toBe("inputs[1] ('b'): data has 5 elements but shape [2,3] needs 6");
  });
});
