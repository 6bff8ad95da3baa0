import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { float32ToFloat16Bits } from '../../src/onnx/index.js';
import { allTypesModel, identityModel, twoInOutModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer } from '../helpers.js';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer(async (core) => {
    await core.registry.register('types', allTypesModel());
    await core.registry.register('pair', twoInOutModel());
    await core.registry.register('ident', identityModel('float32'));
    await core.registry.register('spare', identityModel('int32'));
  });
});
afterAll(async () => t.close());

// ---- raw encodings written by hand (little-endian, row-major) ----
function f32(xs: number[]): Buffer {
  const b = Buffer.alloc(4 * xs.length);
  xs.forEach((x, i) => { b.writeFloatLE(x, 4 * i); });
  return b;
}
function readF32(b: Buffer): number[] {
  return Array.from({ length: b.length / 4 }, (_, i) => b.readFloatLE(4 * i));
}

interface BinaryAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON headers
  json: any;
  binary: Buffer;
}

/** POSTs a JSON header followed by raw tensors, as Triton's clients do (no content type by default). */
async function postBinary(path: string, header: object, blobs: Buffer[], headers: Record<string, string> = {}): Promise<BinaryAnswer> {
  const json = Buffer.from(JSON.stringify(header));
  const res = await fetch(`${t.url}${path}`, {
    method: 'POST',
    headers: { 'inference-header-content-length': String(json.length), ...headers },
    body: Buffer.concat([json, ...blobs]),
  });
  return splitAnswer(res);
}

async function splitAnswer(res: Response): Promise<BinaryAnswer> {
  const body = Buffer.from(await res.arrayBuffer());
  const len = res.headers.get('inference-header-content-length');
  const jsonLength = len === null ? body.length : Number(len);
  return {
    status: res.status,
    headers: res.headers,
    json: JSON.parse(body.subarray(0, jsonLength).toString('utf8')),
    binary: body.subarray(jsonLength),
  };
}

describe('binary_tensor_data', () => {
  it('takes binary inputs and answers binary outputs with binary_data_size', async () => {
    const r = await postBinary(
      '/v2/models/ident/infer',
      {
        id: 'b1',
        parameters: { binary_data_output: true },
        inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } }],
      },
      [f32([1.5, -2, 0.25, 3, 4, 5])],
    );
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(r.json).toEqual({
      model_name: 'ident',
      model_version: '1',
      id: 'b1',
      parameters: { binary_data_output: true },
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } }],
    });
    expect(readF32(r.binary)).toEqual([1.5, -2, 0.25, 3, 4, 5]);
  });

  it('mixes JSON and binary inputs, and binary_data on an output overrides binary_data_output', async () => {
    const r = await postBinary(
      '/v2/models/pair/infer',
      {
        parameters: { binary_data_output: true },
        inputs: [
          { name: 'a', datatype: 'FP32', shape: [1, 2], data: [2, 3] },
          { name: 'b', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } },
        ],
        outputs: [{ name: 'sum' }, { name: 'product', parameters: { binary_data: false } }],
      },
      [f32([4, 5])],
      { 'content-type': 'application/octet-stream' },
    );
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const [sum, product] = r.json.outputs;
    expect(sum).toEqual({ name: 'sum', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } });
    expect(product).toEqual({ name: 'product', datatype: 'FP32', shape: [1, 2], data: [8, 15] });
    expect(readF32(r.binary)).toEqual([6, 8]);
  });

  it('round-trips every datatype, FP16 and BYTES included, byte for byte', async () => {
    const strings = ['a', 'héllo', '', '日本'];
    const bytesBlob = Buffer.concat(
      strings.flatMap((s) => {
        const b = Buffer.from(s);
        const n = Buffer.alloc(4);
        n.writeUInt32LE(b.length);
        return [n, b];
      }),
    );
    const half = Buffer.alloc(8);
    [0.5, -1, 65504, 0.333251953125].forEach((x, i) => { half.writeUInt16LE(float32ToFloat16Bits(x), 2 * i); });
    const i64 = Buffer.alloc(32);
    [-(2n ** 63n), 2n ** 63n - 1n, 42n, -42n].forEach((x, i) => { i64.writeBigInt64LE(x, 8 * i); });
    const u64 = Buffer.alloc(32);
    [0n, 2n ** 64n - 1n, 1n, 2n].forEach((x, i) => { u64.writeBigUInt64LE(x, 8 * i); });
    const f64 = Buffer.alloc(32);
    [0.1, -1e300, 2 ** -1074, 1].forEach((x, i) => { f64.writeDoubleLE(x, 8 * i); });
    const blobs: [string, string, Buffer][] = [
      ['float32', 'FP32', f32([1.5, -2.25, 3.0e-5, 1e30])],
      ['float16', 'FP16', half],
      ['float64', 'FP64', f64],
      ['int8', 'INT8', Buffer.from([0x80, 0x7f, 0, 0xff])],
      ['int16', 'INT16', Buffer.from([0x00, 0x80, 0xff, 0x7f, 5, 0, 0xfb, 0xff])],
      ['int32', 'INT32', Buffer.from([0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0x7f, 7, 0, 0, 0, 0xf9, 0xff, 0xff, 0xff])],
      ['int64', 'INT64', i64],
      ['uint8', 'UINT8', Buffer.from([0, 255, 1, 2])],
      ['uint16', 'UINT16', Buffer.from([0, 0, 0xff, 0xff, 1, 0, 2, 0])],
      ['uint32', 'UINT32', Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 2, 0, 0, 0])],
      ['uint64', 'UINT64', u64],
      ['bool', 'BOOL', Buffer.from([1, 0, 0, 1])],
      ['string', 'BYTES', bytesBlob],
    ];
    const r = await postBinary(
      '/v2/models/types/infer',
      {
        parameters: { binary_data_output: true },
        inputs: blobs.map(([type, datatype, b]) => ({ name: `in_${type}`, datatype, shape: [2, 2], parameters: { binary_data_size: b.length } })),
      },
      blobs.map(([, , b]) => b),
    );
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    let offset = 0;
    const byName = new Map<string, Buffer>();
    for (const o of r.json.outputs) {
      const size = o.parameters.binary_data_size;
      byName.set(o.name, r.binary.subarray(offset, offset + size));
      offset += size;
    }
    expect(offset).toBe(r.binary.length);
    for (const [type, datatype, b] of blobs) {
      expect(r.json.outputs.find((o: { name: string }) => o.name === `out_${type}`).datatype).toBe(datatype);
      expect(Buffer.compare(byName.get(`out_${type}`)!, b), type).toBe(0);
    }
  });

  it('answers binary outputs to a plain JSON request that asks for them', async () => {
    const res = await fetch(`${t.url}/v2/models/ident/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      }),
    });
    const r = await splitAnswer(res);
    expect(r.status).toBe(200);
    expect(r.json.outputs[0].parameters.binary_data_size).toBe(12);
    expect(readF32(r.binary)).toEqual([1, 2, 3]);
  });

  it('answers JSON to a binary request that asks for no binary outputs', async () => {
    const r = await postBinary(
      '/v2/models/ident/infer',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: 12 } }] },
      [f32([7, 8, 9])],
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('inference-header-content-length')).toBeNull();
    expect(r.json.outputs[0].data).toEqual([7, 8, 9]);
    expect(r.binary.length).toBe(0);
  });

  it('refuses sizes that disagree with the shape or the body, naming the field', async () => {
    const input = (size: number) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: size } }] });
    const short = await postBinary('/v2/models/ident/infer', input(8), [f32([1, 2])]);
    expect(short.status).toBe(400);
    expect(short.json.error).toBe("inputs[0] ('x'): raw data has 8 bytes, but shape [1,3] of FP32 needs 12 (3 × 4)");

    const beyond = await postBinary('/v2/models/ident/infer', input(16), [f32([1, 2, 3])]);
    expect(beyond.status).toBe(400);
    expect(beyond.json.error).toBe("inputs[0] ('x'): binary_data_size is 16 but only 12 bytes of binary data remain");

    const extra = await postBinary('/v2/models/ident/infer', input(12), [f32([1, 2, 3, 4])]);
    expect(extra.status).toBe(400);
    expect(extra.json.error).toMatch(/4 bytes of binary data that no input's binary_data_size accounts for/);

    const negative = await postBinary('/v2/models/ident/infer', input(-1), [f32([1, 2, 3])]);
    expect(negative.status).toBe(400);
    expect(negative.json.error).toMatch(/binary_data_size must be a non-negative integer, got -1/);
  });

  it('refuses a bad Inference-Header-Content-Length, a bad header, and binary_data_size without binary data', async () => {
    const body = Buffer.from('{"inputs":[]}');
    const tooLong = await http('POST', `${t.url}/v2/models/ident/infer`, body, { 'inference-header-content-length': '999' });
    expect(tooLong.status).toBe(400);
    expect(tooLong.json.error).toBe(`Inference-Header-Content-Length is 999 but the body has only ${body.length} bytes`);

    const notInt = await http('POST', `${t.url}/v2/models/ident/infer`, body, { 'inference-header-content-length': 'abc' });
    expect(notInt.status).toBe(400);
    expect(notInt.json.error).toMatch(/Inference-Header-Content-Length must be a non-negative integer/);

    const badJson = await http('POST', `${t.url}/v2/models/ident/infer`, Buffer.from('{nope'), { 'inference-header-content-length': '5' });
    expect(badJson.status).toBe(400);
    expect(badJson.json.error).toMatch(/request header is not valid JSON/);

    const jsonOnly = await http('POST', `${t.url}/v2/models/ident/infer`, {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], parameters: { binary_data_size: 12 } }],
    });
    expect(jsonOnly.status).toBe(400);
    expect(jsonOnly.json.error).toMatch(/binary_data_size is set, but the request carries no binary data/);
  });

  it('lists the extensions in GET /v2', async () => {
    const r = await http('GET', `${t.url}/v2`);
    expect(r.json.extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'model_repository']));
  });
});

describe('model_repository', () => {
  const index = async (body?: object) => (await http('POST', `${t.url}/v2/repository/index`, body)).json;

  it('lists every registered model with its state', async () => {
    const all = await index();
    expect(all).toEqual(
      expect.arrayContaining([
        { name: 'ident', version: '1', state: 'READY', reason: '' },
        { name: 'spare', version: '1', state: 'READY', reason: '' },
      ]),
    );
    expect(all.map((e: { name: string }) => e.name).sort()).toEqual(['ident', 'pair', 'spare', 'types']);
  });

  it('unloads and loads a model, and filters the index by ready', async () => {
    const unload = await http('POST', `${t.url}/v2/repository/models/spare/unload`);
    expect(unload.status).toBe(200);
    expect(await index()).toContainEqual({ name: 'spare', state: 'UNAVAILABLE', reason: 'unloaded' });
    expect((await index({ ready: true })).map((e: { name: string }) => e.name)).not.toContain('spare');

    const load = await http('POST', `${t.url}/v2/repository/models/spare/load`, {});
    expect(load.status).toBe(200);
    expect(await index({ ready: true })).toContainEqual({ name: 'spare', version: '1', state: 'READY', reason: '' });
  });

  it('answers 404 for an unknown model and 400 for a malformed body', async () => {
    const load = await http('POST', `${t.url}/v2/repository/models/nope/load`);
    expect(load.status).toBe(404);
    expect(load.json.error).toMatch(/nope/);
    const unload = await http('POST', `${t.url}/v2/repository/models/nope/unload`);
    expect(unload.status).toBe(404);
    const bad = await http('POST', `${t.url}/v2/repository/index`, { ready: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatch(/ready must be a boolean/);
  });
});

describe('model_repository authorization', () => {
  it('needs the read role to list and the deploy role to load or unload', async () => {
    const secrets: Record<string, string> = {};
    const s = await startTestServer(async (core) => {
      await core.registry.register('m', identityModel('float32'));
      for (const role of ['read', 'deploy'] as const) secrets[role] = (await core.tokens.create(role)).secret;
    });
    const bearer = (role: string) => ({ authorization: `Bearer ${secrets[role]}` });
    try {
      expect((await http('POST', `${s.url}/v2/repository/index`)).status).toBe(401);
      expect((await http('POST', `${s.url}/v2/repository/index`, undefined, bearer('read'))).status).toBe(200);
      const denied = await http('POST', `${s.url}/v2/repository/models/m/unload`, undefined, bearer('read'));
      expect(denied.status).toBe(403);
      expect(denied.json.error).toMatch(/needs the 'deploy' role/);
      expect((await http('POST', `${s.url}/v2/repository/models/m/unload`, undefined, bearer('deploy'))).status).toBe(200);
      expect((await http('POST', `${s.url}/v2/repository/models/m/load`, undefined, bearer('deploy'))).status).toBe(200);
    } finally {
      await s.close();
    }
  });
});
