import { describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { decodeInferRequest, type Signature, validateInputs } from '../../src/protocol/index.js';

const signature: Signature = {
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1, 4] },
    { name: 'station', datatype: 'BYTES', shape: [-1] },
  ],
  outputs: [
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    { name: 'label', datatype: 'BYTES', shape: [-1] },
  ],
};

const x = (shape: number[] = [2, 4], datatype = 'FP32') => ({
  name: 'x',
  datatype,
  shape,
  data: Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 1),
});
const station = { name: 'station', datatype: 'BYTES', shape: [2], data: ['a', 'b'] };

function check(body: unknown): ReturnType<typeof validateInputs> {
  return validateInputs(decodeInferRequest(body), signature, 'weather:1');
}

function failure(body: unknown): BerthError {
  try {
    check(body);
  } catch (e) {
    if (e instanceof BerthError) return e;
    throw e;
  }
  throw new Error('expected a BerthError');
}

describe('validateInputs', () => {
  it('accepts matching inputs and returns them in signature order', () => {
    const ordered = check({ inputs: [station, x()], outputs: [{ name: 'label' }] });
    expect(ordered.map((t) => t.name)).toEqual(['x', 'station']);
  });

  it('lets -1 match any size, including 0', () => {
    expect(check({ inputs: [x([0, 4]), { ...station, shape: [0], data: [] }] })).toHaveLength(2);
  });

  it('names a missing input and lists the expected ones', () => {
    const e = failure({ inputs: [x()] });
    expect(e.kind).toBe('BAD_REQUEST');
    expect(e.field).toBe('inputs');
    expect(e.message).toBe("model weather:1 needs input 'station', which the request lacks (expected inputs: x, station)");
  });

  it('names an unknown input and lists the expected ones', () => {
    const e = failure({ inputs: [x(), station, { name: 'X', datatype: 'FP32', shape: [1], data: [1] }] });
    expect(e.kind).toBe('BAD_REQUEST');
    expect(e.field).toBe('inputs[2].name');
    expect(e.message).toBe("input 'X' is not an input of model weather:1 (expected inputs: x, station)");
  });

  it('rejects a different datatype', () => {
    const e = failure({ inputs: [{ ...x(), datatype: 'INT64' }, station] });
    expect(e.kind).toBe('DATATYPE');
    expect(e.field).toBe('inputs[0].datatype');
    expect(e.message).toBe("input 'x': expected datatype FP32, got INT64");
  });

  it('rejects a fixed dimension of the wrong size', () => {
    const e = failure({ inputs: [station, x([2, 3])] });
    expect(e.kind).toBe('SHAPE');
    expect(e.field).toBe('inputs[1].shape');
    expect(e.message).toBe("input 'x': expected shape [-1,4], got [2,3]");
  });

  it('rejects a different rank', () => {
    expect(failure({ inputs: [x([8]), station] }).message).toBe("input 'x': expected shape [-1,4], got [8]");
    expect(failure({ inputs: [x([1, 2, 4]), station] }).message).toBe("input 'x': expected shape [-1,4], got [1,2,4]");
  });

  it('rejects a requested output the model does not have', () => {
    const e = failure({ inputs: [x(), station], outputs: [{ name: 'label' }, { name: 'z' }] });
    expect(e.kind).toBe('BAD_REQUEST');
    expect(e.field).toBe('outputs[1].name');
    expect(e.message).toBe("requested output 'z' is not an output of model weather:1 (outputs: probabilities, label)");
  });
});
