import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { type Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, float32ToFloat16Bits } from '../../src/onnx/index.js';
import { errors } from '../../src/errors.js';
import { grpcStatusOf, inferenceService } from '../../src/serving/grpc/index.js';
import { allTypesModel, failingModel, identityModel, twoInOutModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer } from '../helpers.js';

type Callback = (err: ServiceError | null, value: unknown) => void;
type Unary = (this: Client, request: object, metadata: Metadata, callback: Callback) => void;
// biome-ignore lint/suspicious/noExplicitAny: responses are arbitrary decoded protobuf messages
type Msg = any;

function clientFor(address: string): Client {
  const Ctor = inferenceService();
  return new Ctor(address, credentials.createInsecure());
}

/** Calls one unary RPC; resolves with the response or rejects with the ServiceError. */
function rpc(client: Client, method: string, request: object, token?: string): Promise<Msg> {
  const md = new Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  const fn = (client as unknown as Record<string, Unary>)[method]!;
  return new Promise((resolve, reject) => {
    fn.call(client, request, md, (err, value) => (err ? reject(err) : resolve(value)));
  });
}

async function rpcError(client: Client, method: string, request: object, token?: string): Promise<ServiceError> {
  try {
    await rpc(client, method, request, token);
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error(`${method} succeeded; expected an error`);
}

// ---- raw encodings written by hand (little-endian, row-major) ----
function le(size: number, values: readonly (number | bigint)[], write: (v: DataView, at: number, x: never) => void): Buffer {
  const b = Buffer.alloc(size * values.length);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  values.forEach((x, i) => { write(v, i * size, x as never); });
  return b;
}
const rawF32 = (xs: number[]) => le(4, xs, (v, at, x: number) => v.setFloat32(at, x, true));
const rawF64 = (xs: number[]) => le(8, xs, (v, at, x: number) => v.setFloat64(at, x, true));
const rawF16 = (xs: number[]) => le(2, xs, (v, at, x: number) => v.setUint16(at, float32ToFloat16Bits(x), true));
const rawI8 = (xs: number[]) => le(1, xs, (v, at, x: number) => v.setInt8(at, x));
const rawI16 = (xs: number[]) => le(2, xs, (v, at, x: number) => v.setInt16(at, x, true));
const rawI32 = (xs: number[]) => le(4, xs, (v, at, x: number) => v.setInt32(at, x, true));
const rawI64 = (xs: bigint[]) => le(8, xs, (v, at, x: bigint) => v.setBigInt64(at, x, true));
const rawU8 = (xs: number[]) => le(1, xs, (v, at, x: number) => v.setUint8(at, x));
const rawU16 = (xs: number[]) => le(2, xs, (v, at, x: number) => v.setUint16(at, x, true));
const rawU32 = (xs: number[]) => le(4, xs, (v, at, x: number) => v.setUint32(at, x, true));
const rawU64 = (xs: bigint[]) => le(8, xs, (v, at, x: bigint) => v.setBigUint64(at, x, true));
const rawBool = (xs: boolean[]) => Buffer.from(xs.map((x) => (x ? 1 : 0)));
function rawBytes(xs: string[]): Buffer {
  return Buffer.concat(
    xs.flatMap((s) => {
      const body = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32LE(body.length);
      return [len, body];
    }),
  );
}

let t: TestServer;
let client: Client;

beforeAll(async () => {
  t = await startTestServer(
    async (core) => {
      await core.registry.register('types', allTypesModel());
      await core.registry.register('pair', twoInOutModel());
      await core.registry.register('failing', failingModel());
      await core.registry.register('ident', identityModel('float32'));
      await core.registry.register('ident', identityModel('int32'));
      for (const type of ['bool', 'int8', 'int64', 'uint16', 'uint64', 'float64', 'string'] as const) {
        await core.registry.register(`id_${type}`, identityModel(type));
      }
      await core.registry.register('victim', identityModel('float32'));
      await core.registry.register(
        'to_half',
        buildModel({
          inputs: [{ name: 'x', type: 'float32', shape: ['batch', 3] }],
          outputs: [{ name: 'y', type: 'float16', shape: ['batch', 3] }],
          nodes: [{ op: 'Cast', inputs: ['x'], outputs: ['y'], attributes: { to: { i: 10 } } }],
        }),
      );
    },
    { grpcPort: 0 },
  );
  client = clientFor(t.server.grpc!.address);
});
afterAll(async () => {
  client?.close();
  await t?.close();
});

describe('health and metadata RPCs', () => {
  it('answers ServerLive and ServerReady', async () => {
    expect(await rpc(client, 'ServerLive', {})).toEqual({ live: true });
    expect(await rpc(client, 'ServerReady', {})).toEqual({ ready: true });
  });

  it('lists the same name, version and extensions as GET /v2', async () => {
    const meta = await rpc(client, 'ServerMetadata', {});
    const rest = await http('GET', `${t.url}/v2`);
    expect(meta).toEqual({ name: rest.json.name, version: rest.json.version, extensions: rest.json.extensions });
    expect(meta.extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'model_repository']));
  });

  it('describes a model with its versions and -1 for dynamic dimensions', async () => {
    const meta = await rpc(client, 'ModelMetadata', { name: 'ident' });
    expect(meta).toEqual({
      name: 'ident',
      versions: ['1', '2'],
      platform: 'onnx_onnxv1',
      inputs: [{ name: 'x', datatype: 'INT32', shape: ['-1', '3'] }],
      outputs: [{ name: 'y', datatype: 'INT32', shape: ['-1', '3'] }],
    });
    const v1 = await rpc(client, 'ModelMetadata', { name: 'ident', version: '1' });
    expect(v1.versions).toEqual([]);
    expect(v1.inputs[0].datatype).toBe('FP32');
  });

  it('reports a loaded model ready and an unknown one NOT_FOUND with the REST message', async () => {
    expect(await rpc(client, 'ModelReady', { name: 'pair' })).toEqual({ ready: true });
    const err = await rpcError(client, 'ModelReady', { name: 'nope' });
    expect(err.code).toBe(status.NOT_FOUND);
    const rest = await http('GET', `${t.url}/v2/models/nope/ready`);
    expect(rest.status).toBe(404);
    expect(err.details).toBe(rest.json.error);
  });

  it('starts loading a version that is not loaded, and reports it ready once it is', async () => {
    // preload loads each model's default version only: ident v2 is loaded, v1 is not
    expect(await rpc(client, 'ModelReady', { name: 'ident', version: '1' })).toEqual({ ready: false });
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
      ready = (await rpc(client, 'ModelReady', { name: 'ident', version: '1' })).ready;
      if (!ready) await new Promise((r) => setTimeout(r, 10));
    }
    expect(ready).toBe(true);
  });
});

describe('ModelInfer with typed contents', () => {
  const cases: { model: string; datatype: string; field: string; send: unknown[]; expectBack: unknown[] }[] = [
    { model: 'ident', datatype: 'FP32', field: 'fp32_contents', send: [1.5, -2.25, 0.1, 3, 4, 5], expectBack: [1.5, -2.25, Math.fround(0.1), 3, 4, 5] },
    { model: 'id_float64', datatype: 'FP64', field: 'fp64_contents', send: [0.1, -1e300, 2 ** -1074, 1, 2, 3], expectBack: [0.1, -1e300, 2 ** -1074, 1, 2, 3] },
    { model: 'id_int8', datatype: 'INT8', field: 'int_contents', send: [-128, 127, 0, -1, 5, 6], expectBack: [-128, 127, 0, -1, 5, 6] },
    {
      model: 'id_int64',
      datatype: 'INT64',
      field: 'int64_contents',
      send: ['-9223372036854775808', '9223372036854775807', 1, 2, 3, 4],
      expectBack: ['-9223372036854775808', '9223372036854775807', '1', '2', '3', '4'],
    },
    { model: 'id_uint16', datatype: 'UINT16', field: 'uint_contents', send: [0, 65535, 1, 2, 3, 4], expectBack: [0, 65535, 1, 2, 3, 4] },
    {
      model: 'id_uint64',
      datatype: 'UINT64',
      field: 'uint64_contents',
      send: ['18446744073709551615', 0, 1, 2, 3, 4],
      expectBack: ['18446744073709551615', '0', '1', '2', '3', '4'],
    },
    { model: 'id_bool', datatype: 'BOOL', field: 'bool_contents', send: [true, false, false, true, true, false], expectBack: [true, false, false, true, true, false] },
  ];
  for (const c of cases) {
    it(`round-trips ${c.datatype} through ${c.field}`, async () => {
      const version = c.model === 'ident' ? '1' : '';
      const res = await rpc(client, 'ModelInfer', {
        model_name: c.model,
        model_version: version,
        id: 'req-1',
        inputs: [{ name: 'x', datatype: c.datatype, shape: [2, 3], contents: { [c.field]: c.send } }],
      });
      expect(res.model_name).toBe(c.model);
      expect(res.id).toBe('req-1');
      expect(res.raw_output_contents).toEqual([]);
      expect(res.outputs).toHaveLength(1);
      expect(res.outputs[0]).toMatchObject({ name: 'y', datatype: c.datatype, shape: ['2', '3'] });
      expect(res.outputs[0].contents[c.field]).toEqual(c.expectBack);
    });
  }

  it('round-trips BYTES through bytes_contents as UTF-8', async () => {
    const words = ['a', 'héllo', '', '{"x":1}', '日本', 'z'];
    const res = await rpc(client, 'ModelInfer', {
      model_name: 'id_string',
      inputs: [{ name: 'x', datatype: 'BYTES', shape: [2, 3], contents: { bytes_contents: words.map((w) => Buffer.from(w)) } }],
    });
    expect(res.outputs[0].contents.bytes_contents.map((b: Buffer) => b.toString('utf8'))).toEqual(words);
  });

  it('returns only the requested outputs, and echoes request parameters', async () => {
    const res = await rpc(client, 'ModelInfer', {
      model_name: 'pair',
      parameters: { tag: { string_param: 'x' }, n: { int64_param: 7 }, on: { bool_param: true } },
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [2, 3] } },
        { name: 'b', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [4, 5] } },
      ],
      outputs: [{ name: 'product' }],
    });
    expect(res.outputs.map((o: { name: string }) => o.name)).toEqual(['product']);
    expect(res.outputs[0].contents.fp32_contents).toEqual([8, 15]);
    expect(res.model_version).toBe('1');
    expect(res.parameters.tag.string_param).toBe('x');
    expect(res.parameters.n.int64_param).toBe('7');
    expect(res.parameters.on.bool_param).toBe(true);
  });
});

describe('ModelInfer with raw contents', () => {
  it('round-trips every datatype, FP16 and BYTES included, and answers raw', async () => {
    const inputs: [string, string, Buffer][] = [
      ['float32', 'FP32', rawF32([1.5, -2.25, 3.0e-5, 1e30])],
      ['float16', 'FP16', rawF16([0.5, -1, 65504, 0.333251953125])],
      ['float64', 'FP64', rawF64([0.1, -1e300, 2 ** -1074, 123456789.123])],
      ['int8', 'INT8', rawI8([-128, 127, 0, -1])],
      ['int16', 'INT16', rawI16([-32768, 32767, 5, -5])],
      ['int32', 'INT32', rawI32([-2147483648, 2147483647, 7, -7])],
      ['int64', 'INT64', rawI64([-(2n ** 63n), 2n ** 63n - 1n, 42n, -42n])],
      ['uint8', 'UINT8', rawU8([0, 255, 1, 2])],
      ['uint16', 'UINT16', rawU16([0, 65535, 1, 2])],
      ['uint32', 'UINT32', rawU32([0, 4294967295, 1, 2])],
      ['uint64', 'UINT64', rawU64([0n, 2n ** 64n - 1n, 1n, 2n])],
      ['bool', 'BOOL', rawBool([true, false, false, true])],
      ['string', 'BYTES', rawBytes(['a', 'héllo', '', '{"x":1}'])],
    ];
    const res = await rpc(client, 'ModelInfer', {
      model_name: 'types',
      inputs: inputs.map(([type, datatype]) => ({ name: `in_${type}`, datatype, shape: [2, 2] })),
      raw_input_contents: inputs.map(([, , raw]) => raw),
    });
    expect(res.raw_output_contents).toHaveLength(inputs.length);
    const byName = new Map<string, Buffer>(res.outputs.map((o: { name: string }, i: number) => [o.name, res.raw_output_contents[i]]));
    for (const [type, datatype, raw] of inputs) {
      const o = res.outputs.find((x: { name: string }) => x.name === `out_${type}`);
      expect(o).toMatchObject({ datatype, shape: ['2', '2'] });
      expect(o.contents).toBeNull();
      expect(Buffer.compare(byName.get(`out_${type}`)!, raw), type).toBe(0);
    }
  });

  it('answers raw when an output is FP16, which has no typed field, even to a typed request', async () => {
    const res = await rpc(client, 'ModelInfer', {
      model_name: 'to_half',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [0.5, -2, 65504] } }],
    });
    expect(res.outputs[0]).toMatchObject({ name: 'y', datatype: 'FP16', contents: null });
    expect(Buffer.compare(res.raw_output_contents[0], rawF16([0.5, -2, 65504]))).toBe(0);
  });

  it('refuses FP16 in typed contents, pointing at raw_input_contents', async () => {
    const err = await rpcError(client, 'ModelInfer', {
      model_name: 'types',
      inputs: [{ name: 'in_float16', datatype: 'FP16', shape: [1, 2], contents: { fp32_contents: [1, 2] } }],
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/inputs\[0\] \('in_float16'\): FP16 has no typed contents field; send it in raw_input_contents/);
  });

  it('refuses raw data whose size does not match the shape, naming the input', async () => {
    const err = await rpcError(client, 'ModelInfer', {
      model_name: 'ident',
      model_version: '1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3] }],
      raw_input_contents: [rawF32([1, 2, 3])],
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe("inputs[0] ('x'): raw data has 12 bytes, but shape [2,3] of FP32 needs 24 (6 × 4)");
  });

  it('refuses a raw_input_contents count that differs from the inputs, and mixing raw with contents', async () => {
    const count = await rpcError(client, 'ModelInfer', {
      model_name: 'pair',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 2] },
        { name: 'b', datatype: 'FP32', shape: [1, 2] },
      ],
      raw_input_contents: [rawF32([1, 2])],
    });
    expect(count.code).toBe(status.INVALID_ARGUMENT);
    expect(count.details).toMatch(/raw_input_contents has 1 entries but the request has 2 inputs/);
    const mixed = await rpcError(client, 'ModelInfer', {
      model_name: 'pair',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 2] },
        { name: 'b', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [1, 2] } },
      ],
      raw_input_contents: [rawF32([1, 2]), rawF32([1, 2])],
    });
    expect(mixed.code).toBe(status.INVALID_ARGUMENT);
    expect(mixed.details).toMatch(/inputs\[1\] \('b'\): carries contents.fp32_contents/);
  });
});

describe('errors as status codes with the REST messages', () => {
  const restInfer = (model: string, body: unknown) => http('POST', `${t.url}/v2/models/${model}/infer`, body);

  it('INVALID_ARGUMENT for a datatype the model does not take, worded as REST words it', async () => {
    const err = await rpcError(client, 'ModelInfer', {
      model_name: 'pair',
      inputs: [
        { name: 'a', datatype: 'FP64', shape: [1, 2], contents: { fp64_contents: [1, 2] } },
        { name: 'b', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [1, 2] } },
      ],
    });
    const rest = await restInfer('pair', {
      inputs: [
        { name: 'a', datatype: 'FP64', shape: [1, 2], data: [1, 2] },
        { name: 'b', datatype: 'FP32', shape: [1, 2], data: [1, 2] },
      ],
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(rest.status).toBe(400);
    expect(err.details).toBe(rest.json.error);
  });

  it('INVALID_ARGUMENT for out-of-range elements and contents in the wrong field', async () => {
    const range = await rpcError(client, 'ModelInfer', {
      model_name: 'id_int8',
      inputs: [{ name: 'x', datatype: 'INT8', shape: [1, 3], contents: { int_contents: [1, 300, 2] } }],
    });
    const rest = await restInfer('id_int8', { inputs: [{ name: 'x', datatype: 'INT8', shape: [1, 3], data: [1, 300, 2] }] });
    expect(range.code).toBe(status.INVALID_ARGUMENT);
    expect(range.details).toBe(rest.json.error);
    const wrong = await rpcError(client, 'ModelInfer', {
      model_name: 'ident',
      model_version: '1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { int_contents: [1, 2, 3] } }],
    });
    expect(wrong.code).toBe(status.INVALID_ARGUMENT);
    expect(wrong.details).toBe("inputs[0] ('x'): FP32 elements go in contents.fp32_contents, but contents.int_contents is set");
  });

  it('NOT_FOUND for an unknown model or version', async () => {
    for (const [name, version] of [
      ['nope', ''],
      ['ident', '9'],
    ] as const) {
      const err = await rpcError(client, 'ModelInfer', {
        model_name: name,
        model_version: version,
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }],
      });
      const path = version ? `${name}/versions/${version}` : name;
      const rest = await restInfer(path, { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] });
      expect(err.code).toBe(status.NOT_FOUND);
      expect(err.details).toBe(rest.json.error);
    }
  });

  it('INTERNAL when the model run fails, then serves the next request', async () => {
    const err = await rpcError(client, 'ModelInfer', {
      model_name: 'failing',
      inputs: [{ name: 'index', datatype: 'INT64', shape: [1], contents: { int64_contents: [99] } }],
    });
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toContain('model run failed');
    const ok = await rpc(client, 'ModelInfer', {
      model_name: 'failing',
      inputs: [{ name: 'index', datatype: 'INT64', shape: [2], contents: { int64_contents: [1, 2] } }],
    });
    expect(ok.outputs[0].contents.fp32_contents).toEqual([10, 20]);
  });

  it('UNAVAILABLE for a version whose artifact is corrupt', async () => {
    await t.server.models.unload('victim', 1);
    const dir = join(t.home, 'artifacts');
    const files = spawnSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).stdout.trim().split('\n');
    const sha = (await t.core.registry.resolve({ name: 'victim', version: 1 })).sha256;
    const target = files.find((f) => f.endsWith(sha));
    expect(target).toBeTruthy();
    const bytes = readFileSync(target as string);
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff;
    writeFileSync(target as string, bytes);
    const err = await rpcError(client, 'ModelInfer', {
      model_name: 'victim',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }],
    });
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.details).toMatch(/corrupt/);
    expect(await rpc(client, 'ModelReady', { name: 'victim' })).toEqual({ ready: false });
  });
});

describe('status mapping', () => {
  it('maps every BerthError kind the protocol names to its gRPC code, keeping the message', () => {
    expect(grpcStatusOf(errors.badRequest('b'))).toEqual({ code: status.INVALID_ARGUMENT, details: 'b' });
    expect(grpcStatusOf(errors.notFound('n'))).toEqual({ code: status.NOT_FOUND, details: 'n' });
    expect(grpcStatusOf(errors.notReady('r'))).toEqual({ code: status.UNAVAILABLE, details: 'r' });
    expect(grpcStatusOf(errors.unauthenticated('u'))).toEqual({ code: status.UNAUTHENTICATED, details: 'u' });
    expect(grpcStatusOf(errors.forbidden('f'))).toEqual({ code: status.PERMISSION_DENIED, details: 'f' });
    expect(grpcStatusOf(new Error('secret detail'))).toEqual({ code: status.INTERNAL, details: 'internal error' });
  });
});

describe('authorization metadata', () => {
  it('checks Bearer tokens and roles as REST does', async () => {
    let read = '';
    const s = await startTestServer(
      async (core) => {
        await core.registry.register('m', identityModel('float32'));
        read = (await core.tokens.create('read')).secret;
      },
      { grpcPort: 0 },
    );
    const c = clientFor(s.server.grpc!.address);
    try {
      expect(await rpc(c, 'ServerLive', {})).toEqual({ live: true });
      const missing = await rpcError(c, 'ModelMetadata', { name: 'm' });
      expect(missing.code).toBe(status.UNAUTHENTICATED);
      const rest = await http('GET', `${s.url}/v2/models/m`);
      expect(missing.details).toBe(rest.json.error);
      const wrong = await rpcError(c, 'ModelMetadata', { name: 'm' }, 'not-a-token');
      expect(wrong.code).toBe(status.UNAUTHENTICATED);
      const res = await rpc(c, 'ModelInfer', {
        model_name: 'm',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], contents: { fp32_contents: [1, 2, 3] } }],
      }, read);
      expect(res.outputs[0].contents.fp32_contents).toEqual([1, 2, 3]);
    } finally {
      c.close();
      await s.close();
    }
  });
});
