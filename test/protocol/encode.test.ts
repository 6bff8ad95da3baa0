import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import {
  decodeInferRequest,
  encodeError,
  encodeInferResponse,
  formatFloat16,
  formatFloat32,
  type InferResponse,
  type Tensor,
} from '../../src/protocol/index.js';

function response(outputs: Tensor[], extra: Partial<InferResponse> = {}): InferResponse {
  return { modelName: 'weather', modelVersion: '1', outputs, ...extra };
}

/** Encodes one output and returns its `data` exactly as the JSON text has it. */
function dataText(t: Tensor): string {
  const json = encodeInferResponse(response([t]));
  return json.slice(json.indexOf('"data":') + 7, -3);
}

describe('encodeInferResponse', () => {
  it('writes the V2 response shape, echoing id and non-empty parameters', () => {
    const json = encodeInferResponse(
      response(
        [
          { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: Float32Array.of(0.25, 0.75) },
          { name: 'label', datatype: 'BYTES', shape: [1], data: ['sun'], parameters: { source: 'argmax' } },
        ],
        { id: 'req "1"', parameters: { cached: true } },
      ),
    );
    expect(json).toBe(
      '{"model_name":"weather","model_version":"1","id":"req \\"1\\"","parameters":{"cached":true},"outputs":[' +
        '{"name":"probabilities","datatype":"FP32","shape":[1,2],"data":[0.25,0.75]},' +
        '{"name":"label","datatype":"BYTES","shape":[1],"parameters":{"source":"argmax"},"data":["sun"]}]}',
    );
    expect(JSON.parse(json)).toEqual({
      model_name: 'weather',
      model_version: '1',
      id: 'req "1"',
      parameters: { cached: true },
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: [0.25, 0.75] },
        { name: 'label', datatype: 'BYTES', shape: [1], parameters: { source: 'argmax' }, data: ['sun'] },
      ],
    });
  });

  it('omits id when the request had none and parameters when empty', () => {
    const parsed = JSON.parse(encodeInferResponse(response([], { parameters: {} })));
    expect(parsed).toEqual({ model_name: 'weather', model_version: '1', outputs: [] });
    expect('id' in parsed).toBe(false);
    expect('parameters' in parsed).toBe(false);
  });

  it('prints FP32 as the shortest decimal that reads back as the same float32', () => {
    const values = Float32Array.of(0.1, 1 / 3, 16777216, 3.4028234663852886e38, 1e-45, 1.17549435e-38, -2.5, 123456.789);
    expect(dataText({ name: 'y', datatype: 'FP32', shape: [8], data: values })).toBe(
      '[0.1,0.33333334,16777216,3.4028235e+38,1e-45,1.1754944e-38,-2.5,123456.79]',
    );
    const back: number[] = JSON.parse(dataText({ name: 'y', datatype: 'FP32', shape: [8], data: values }));
    expect(Float32Array.from(back)).toEqual(values);
  });

  it('prints FP32 values that round-trip, across many magnitudes', () => {
    const values = new Float32Array(2000);
    let seed = 12345;
    for (let i = 0; i < values.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      values[i] = (seed / 2 ** 32 - 0.5) * 10 ** ((i % 80) - 40);
    }
    const back: number[] = JSON.parse(dataText({ name: 'y', datatype: 'FP32', shape: [values.length], data: values }));
    expect(Float32Array.from(back)).toEqual(values);
    const digits = (text: string) => Number(text).toExponential().split('e')[0]!.replace(/[-.]/g, '').length;
    for (const v of values) expect(digits(formatFloat32(v))).toBeLessThanOrEqual(9);
  });

  it('writes -0, NaN and the infinities as the decoder reads them back', () => {
    const t: Tensor = { name: 'y', datatype: 'FP32', shape: [4], data: Float32Array.of(-0, Number.NaN, Infinity, -Infinity) };
    expect(dataText(t)).toBe('[-0,"NaN","Infinity","-Infinity"]');
    const f64: Tensor = { name: 'y', datatype: 'FP64', shape: [5], data: Float64Array.of(0.1, -0, Number.NaN, Infinity, 5e-324) };
    expect(dataText(f64)).toBe('[0.1,-0,"NaN","Infinity",5e-324]');
    const back = decodeInferRequest({ inputs: [{ name: 'y', datatype: 'FP64', shape: [5], data: JSON.parse(dataText(f64)) }] });
    expect(back.inputs[0]!.data).toEqual(f64.data);
    expect(Object.is((back.inputs[0]!.data as Float64Array)[1], -0)).toBe(true);
  });

  it('prints FP64 in its shortest round-trip form', () => {
    const data = Float64Array.of(0.1, 1 / 3, Number.MAX_VALUE, -1e-300);
    expect(JSON.parse(dataText({ name: 'y', datatype: 'FP64', shape: [4], data }))).toEqual([...data]);
  });

  it('prints FP16 bits as their decoded numbers, shortest first', () => {
    const bits = Uint16Array.of(0x3c00, 0x2e66, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x3555);
    expect(dataText({ name: 'y', datatype: 'FP16', shape: [9], data: bits })).toBe(
      '[1,0.1,65504,6e-8,-0,"Infinity","-Infinity","NaN",0.3333]',
    );
    expect(formatFloat16(0x3c01)).toBe('1.001');
    expect(formatFloat16(0x4020)).toBe('2.063'); // 2.0625 exactly, but 2.063 reads back the same
    // every finite half survives encode -> JSON -> decode bit for bit
    const all = new Uint16Array(0x7c00);
    for (let b = 0; b < all.length; b++) all[b] = b;
    const back = decodeInferRequest({
      inputs: [{ name: 'y', datatype: 'FP16', shape: [all.length], data: JSON.parse(dataText({ name: 'y', datatype: 'FP16', shape: [all.length], data: all })) }],
    });
    expect(back.inputs[0]!.data).toEqual(all);
  });

  it('prints INT64 and UINT64 with every digit, beyond 2^53', () => {
    const i64: Tensor = { name: 'y', datatype: 'INT64', shape: [3], data: BigInt64Array.of(-9223372036854775808n, 9007199254740993n, 0n) };
    const u64: Tensor = { name: 'y', datatype: 'UINT64', shape: [1], data: BigUint64Array.of(18446744073709551615n) };
    expect(dataText(i64)).toBe('[-9223372036854775808,9007199254740993,0]');
    expect(dataText(u64)).toBe('[18446744073709551615]');
  });

  it.each([
    ['INT8', Int8Array.of(-128, 127), '[-128,127]'],
    ['INT16', Int16Array.of(-32768, 32767), '[-32768,32767]'],
    ['INT32', Int32Array.of(-2147483648, 2147483647), '[-2147483648,2147483647]'],
    ['UINT8', Uint8Array.of(0, 255), '[0,255]'],
    ['UINT16', Uint16Array.of(0, 65535), '[0,65535]'],
    ['UINT32', Uint32Array.of(0, 4294967295), '[0,4294967295]'],
  ] as const)('prints %s as integers', (datatype, data, text) => {
    expect(dataText({ name: 'y', datatype, shape: [2], data })).toBe(text);
  });

  it('prints BOOL as true/false and BYTES as escaped JSON strings', () => {
    expect(dataText({ name: 'y', datatype: 'BOOL', shape: [3], data: Uint8Array.of(1, 0, 1) })).toBe('[true,false,true]');
    const bytes = ['a"b', 'line\nbreak', 'é✓', '\u0000'];
    expect(JSON.parse(dataText({ name: 'y', datatype: 'BYTES', shape: [4], data: bytes }))).toEqual(bytes);
  });

  it('prints empty tensors as []', () => {
    for (const data of [new Float32Array(0), new Uint16Array(0), new Uint8Array(0), new Float64Array(0)]) {
      const datatype = data instanceof Float32Array ? 'FP32' : data instanceof Uint16Array ? 'FP16' : data instanceof Uint8Array ? 'BOOL' : 'FP64';
      expect(dataText({ name: 'y', datatype, shape: [0], data })).toBe('[]');
    }
  });

  it('refuses output data that disagrees with its datatype or shape', () => {
    const wrongType = () => encodeInferResponse(response([{ name: 'y', datatype: 'FP32', shape: [1], data: Float64Array.of(1) }]));
    expect(wrongType).toThrow(BerthError);
    expect(wrongType).toThrow("output 'y': data storage does not match datatype FP32");
    const wrongShape = () => encodeInferResponse(response([{ name: 'y', datatype: 'INT32', shape: [2, 2], data: Int32Array.of(1) }]));
    expect(wrongShape).toThrow("output 'y': data has 1 elements but shape [2,2] needs 4");
  });

  it('writes error bodies', () => {
    expect(JSON.parse(encodeError("input 'x': expected \"FP32\""))).toEqual({ error: "input 'x': expected \"FP32\"" });
  });
});

describe('decode then encode', () => {
  it('carries every datatype through unchanged', () => {
    const inputs = [
      { name: 'b', datatype: 'BOOL', shape: [2], data: [true, false] },
      { name: 'u8', datatype: 'UINT8', shape: [2], data: [0, 255] },
      { name: 'u16', datatype: 'UINT16', shape: [2], data: [0, 65535] },
      { name: 'u32', datatype: 'UINT32', shape: [2], data: [0, 4294967295] },
      { name: 'u64', datatype: 'UINT64', shape: [2], data: [0, '18446744073709551615'] },
      { name: 'i8', datatype: 'INT8', shape: [2], data: [-128, 127] },
      { name: 'i16', datatype: 'INT16', shape: [2], data: [-32768, 32767] },
      { name: 'i32', datatype: 'INT32', shape: [2], data: [-2147483648, 2147483647] },
      { name: 'i64', datatype: 'INT64', shape: [2], data: ['-9223372036854775808', 9007199254740991] },
      { name: 'f16', datatype: 'FP16', shape: [2], data: [0.5, -65504] },
      { name: 'f32', datatype: 'FP32', shape: [2], data: [0.1, -0] },
      { name: 'f64', datatype: 'FP64', shape: [2], data: [0.1, 1e308] },
      { name: 's', datatype: 'BYTES', shape: [2], data: ['', 'x'] },
    ];
    const decoded = decodeInferRequest({ inputs });
    const json = encodeInferResponse(response(decoded.inputs));
    // INT64/UINT64 beyond 2^53 cannot survive JSON.parse as numbers; compare those as text.
    expect(json).toContain('"data":[0,18446744073709551615]');
    expect(json).toContain('"data":[-9223372036854775808,9007199254740991]');
    const outputs = JSON.parse(json).outputs as { name: string; data: unknown[] }[];
    const again = decodeInferRequest({
      inputs: outputs.map((o, i) => ({ ...o, data: o.name.endsWith('64') && o.name !== 'f64' ? inputs[i]!.data : o.data })),
    });
    expect(again.inputs).toEqual(decoded.inputs);
  });
});
