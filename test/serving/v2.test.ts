import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../src/onnx/index.js';
import { allTypesModel, failingModel, fixedShapeModel, identityModel, twoInOutModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer } from '../helpers.js';

let t: TestServer;
const infer = (path: string, body: unknown) => http('POST', `${t.url}${path}`, body);

beforeAll(async () => {
  t = await startTestServer(async (core) => {
    await core.registry.register('types', allTypesModel());
    await core.registry.register('pair', twoInOutModel());
    await core.registry.register('fixed', fixedShapeModel());
    await core.registry.register('failing', failingModel());
    await core.registry.register('ident', identityModel('float32')); // v1: FP32 [-1,3]
    await core.registry.register('ident', identityModel('int32')); // v2: INT32 [-1,3]
  });
});
afterAll(async () => t.close());

describe('health and server metadata', () => {
  it('answers live and ready with 200', async () => {
    expect((await http('GET', `${t.url}/v2/health/live`)).status).toBe(200);
    expect((await http('GET', `${t.url}/v2/health/ready`)).status).toBe(200);
  });

  it('describes the server with name, version and extensions', async () => {
    const r = await http('GET', `${t.url}/v2`);
    expect(r.status).toBe(200);
    expect(r.json.name).toBe('berth');
    expect(typeof r.json.version).toBe('string');
    expect(Array.isArray(r.json.extensions)).toBe(true);
  });
});

describe('model metadata and readiness', () => {
  it('returns the signature with -1 for dynamic dimensions and every version', async () => {
    const r = await http('GET', `${t.url}/v2/models/ident`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      name: 'ident',
      versions: ['1', '2'],
      platform: 'onnx_onnxv1',
      inputs: [{ name: 'x', datatype: 'INT32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'INT32', shape: [-1, 3] }],
    });
  });

  it('returns one version when the path names it', async () => {
    const r = await http('GET', `${t.url}/v2/models/ident/versions/1`);
    expect(r.status).toBe(200);
    expect(r.json.inputs).toEqual([{ name: 'x', datatype: 'FP32', shape: [-1, 3] }]);
  });

  it('keeps fixed dimensions', async () => {
    const r = await http('GET', `${t.url}/v2/models/fixed`);
    expect(r.json.inputs[0].shape).toEqual([2, 3]);
  });

  it('reports a loaded model ready and loads a version on first use', async () => {
    expect((await http('GET', `${t.url}/v2/models/ident/ready`)).status).toBe(200);
    const first = await http('GET', `${t.url}/v2/models/ident/versions/1/ready`);
    expect([200, 503]).toContain(first.status);
    for (let i = 0; i < 100; i++) {
      if ((await http('GET', `${t.url}/v2/models/ident/versions/1/ready`)).status === 200) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('version 1 never became ready');
  });

  it('answers 404 with an error body for an unknown model or version', async () => {
    for (const path of [
      '/v2/models/nope',
      '/v2/models/nope/ready',
      '/v2/models/ident/versions/9',
      '/v2/models/ident/versions/9/ready',
      '/v2/models/ident/versions/abc',
    ]) {
      const r = await http('GET', `${t.url}${path}`);
      expect(r.status, path).toBe(404);
      expect(typeof r.json.error, path).toBe('string');
    }
    const r = await infer('/v2/models/nope/infer', { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] });
    expect(r.status).toBe(404);
    expect(r.json.error).toContain('nope');
  });
});

describe('inference', () => {
  const row = (values: unknown[]) => values;
  const allTypesRequest = () => ({
    inputs: [
      { name: 'in_float32', datatype: 'FP32', shape: [2, 2], data: [1.5, -2.25, 3.0e-5, 1e30] },
      { name: 'in_float16', datatype: 'FP16', shape: [2, 2], data: [0.5, -1, 65504, 0.333251953125] },
      { name: 'in_float64', datatype: 'FP64', shape: [2, 2], data: [0.1, -1e300, 2 ** -1074, 123456789.123] },
      { name: 'in_int8', datatype: 'INT8', shape: [2, 2], data: [-128, 127, 0, -1] },
      { name: 'in_int16', datatype: 'INT16', shape: [2, 2], data: [-32768, 32767, 5, -5] },
      { name: 'in_int32', datatype: 'INT32', shape: [2, 2], data: [-2147483648, 2147483647, 7, -7] },
      { name: 'in_int64', datatype: 'INT64', shape: [2, 2], data: ['-9223372036854775808', '9223372036854775807', 42, -42] },
      { name: 'in_uint8', datatype: 'UINT8', shape: [2, 2], data: [0, 255, 1, 2] },
      { name: 'in_uint16', datatype: 'UINT16', shape: [2, 2], data: [0, 65535, 1, 2] },
      { name: 'in_uint32', datatype: 'UINT32', shape: [2, 2], data: [0, 4294967295, 1, 2] },
      { name: 'in_uint64', datatype: 'UINT64', shape: [2, 2], data: [0, '18446744073709551615', 1, 2] },
      { name: 'in_bool', datatype: 'BOOL', shape: [2, 2], data: [true, false, false, true] },
      { name: 'in_string', datatype: 'BYTES', shape: [2, 2], data: ['a', 'héllo', '', '{"x":1}'] },
    ],
  });

  it('round-trips every datatype through ONNX Runtime exactly', async () => {
    const r = await infer('/v2/models/types/infer', allTypesRequest());
    expect(r.status, r.text).toBe(200);
    const out = Object.fromEntries(r.json.outputs.map((o: { name: string }) => [o.name, o]));
    expect(out.out_float32).toMatchObject({ datatype: 'FP32', shape: [2, 2] });
    expect(out.out_float32.data.map((x: number) => Math.fround(x))).toEqual([1.5, -2.25, Math.fround(3.0e-5), Math.fround(1e30)]);
    // FP16 comes back as the shortest decimal that names the same half-precision value
    expect(out.out_float16.data.map((x: number) => float16BitsToFloat32(float32ToFloat16Bits(x)))).toEqual([0.5, -1, 65504, 0.333251953125]);
    expect(out.out_float64.data).toEqual([0.1, -1e300, 2 ** -1074, 123456789.123]);
    expect(out.out_int8.data).toEqual([-128, 127, 0, -1]);
    expect(out.out_int16.data).toEqual([-32768, 32767, 5, -5]);
    expect(out.out_int32.data).toEqual([-2147483648, 2147483647, 7, -7]);
    expect(out.out_uint8.data).toEqual([0, 255, 1, 2]);
    expect(out.out_uint16.data).toEqual([0, 65535, 1, 2]);
    expect(out.out_uint32.data).toEqual([0, 4294967295, 1, 2]);
    expect(out.out_bool).toMatchObject({ datatype: 'BOOL', data: [true, false, false, true] });
    expect(out.out_string).toMatchObject({ datatype: 'BYTES', data: ['a', 'héllo', '', '{"x":1}'] });
    // 64-bit integers beyond 2^53 come back digit for digit in the JSON text
    expect(r.text).toContain('-9223372036854775808');
    expect(r.text).toContain('9223372036854775807');
    expect(r.text).toContain('18446744073709551615');
    expect(out.out_int64.datatype).toBe('INT64');
    expect(out.out_uint64.datatype).toBe('UINT64');
  });

  it('accepts nested and flat data alike', async () => {
    const flat = await infer('/v2/models/pair/infer', {
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3, 4] },
        { name: 'b', datatype: 'FP32', shape: [2, 2], data: [10, 20, 30, 40] },
      ],
    });
    const nested = await infer('/v2/models/pair/infer', {
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [2, 2], data: [row([1, 2]), row([3, 4])] },
        { name: 'b', datatype: 'FP32', shape: [2, 2], data: [row([10, 20]), row([30, 40])] },
      ],
    });
    expect(flat.status).toBe(200);
    expect(nested.json).toEqual(flat.json);
    expect(flat.json.outputs).toEqual([
      { name: 'sum', datatype: 'FP32', shape: [2, 2], data: [11, 22, 33, 44] },
      { name: 'product', datatype: 'FP32', shape: [2, 2], data: [10, 40, 90, 160] },
    ]);
  });

  it('takes a JSON body whatever content type the client declares', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }] });
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'application/json; charset=utf-8']) {
      const r = await http('POST', `${t.url}/v2/models/fixed/infer`, body, { 'content-type': type });
      expect(r.status, type).toBe(200);
      expect(r.json.outputs[0].data).toEqual([1, 2, 3, 4, 5, 6]);
    }
  });

  it('returns only the requested outputs', async () => {
    const r = await infer('/v2/models/pair/infer', {
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 2], data: [1, 2] },
        { name: 'b', datatype: 'FP32', shape: [1, 2], data: [3, 4] },
      ],
      outputs: [{ name: 'product' }],
    });
    expect(r.status).toBe(200);
    expect(r.json.outputs.map((o: { name: string }) => o.name)).toEqual(['product']);
    expect(r.json.outputs[0].data).toEqual([3, 8]);
  });

  it('echoes id and parameters and names the model and version', async () => {
    const r = await infer('/v2/models/pair/infer', {
      id: 'req-42',
      parameters: { tenant: 'a', priority: 3, trace: true },
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 2], data: [1, 2] },
        { name: 'b', datatype: 'FP32', shape: [1, 2], data: [3, 4] },
      ],
    });
    expect(r.json).toMatchObject({
      model_name: 'pair',
      model_version: '1',
      id: 'req-42',
      parameters: { tenant: 'a', priority: 3, trace: true },
    });
    expect(r.headers.get('x-request-id')).toBeTruthy();
    const noId = await infer('/v2/models/pair/infer', {
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 2], data: [1, 2] },
        { name: 'b', datatype: 'FP32', shape: [1, 2], data: [3, 4] },
      ],
    });
    expect('id' in noId.json).toBe(false);
  });

  it('routes an unversioned request to champion, else to the newest version', async () => {
    const fp32 = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] };
    const int32 = { inputs: [{ name: 'x', datatype: 'INT32', shape: [1, 3], data: [1, 2, 3] }] };
    const newest = await infer('/v2/models/ident/infer', int32);
    expect(newest.json.model_version).toBe('2');
    const put = await http('PUT', `${t.url}/api/v1/models/ident/aliases/champion`, { version: 1 });
    expect(put.status).toBe(200);
    const champion = await infer('/v2/models/ident/infer', fp32);
    expect(champion.status, champion.text).toBe(200);
    expect(champion.json.model_version).toBe('1');
    expect(champion.headers.get('x-model-version')).toBe('1');
    const explicit = await infer('/v2/models/ident/versions/2/infer', int32);
    expect(explicit.json.model_version).toBe('2');
  });
});

describe('errors', () => {
  const expectError = async (path: string, body: unknown, status: number, ...parts: string[]) => {
    const r = await infer(path, body);
    expect(r.status, r.text).toBe(status);
    expect(Object.keys(r.json)).toEqual(['error']);
    for (const p of parts) expect(r.json.error).toContain(p);
  };

  it('names the input, the expected and the given datatype', async () => {
    await expectError(
      '/v2/models/fixed/infer',
      { inputs: [{ name: 'x', datatype: 'INT64', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }] },
      400,
      "'x'",
      'FP32',
      'INT64',
    );
  });

  it('names the input, the expected and the given shape', async () => {
    await expectError(
      '/v2/models/fixed/infer',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [3, 2], data: [1, 2, 3, 4, 5, 6] }] },
      400,
      "'x'",
      '[2,3]',
      '[3,2]',
    );
  });

  it('rejects missing and unknown inputs and unknown outputs', async () => {
    await expectError('/v2/models/pair/infer', { inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }, 400, "'b'");
    await expectError(
      '/v2/models/fixed/infer',
      {
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
          { name: 'zzz', datatype: 'FP32', shape: [1], data: [1] },
        ],
      },
      400,
      "'zzz'",
    );
    await expectError(
      '/v2/models/fixed/infer',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }], outputs: [{ name: 'nope' }] },
      400,
      "'nope'",
    );
  });

  it('rejects data that does not fill the shape, and bad elements', async () => {
    await expectError('/v2/models/fixed/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3] }] }, 400, '6');
    await expectError(
      '/v2/models/fixed/infer',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 'three', 4, 5, 6] }] },
      400,
      'three',
    );
    await expectError('/v2/models/types/infer', { inputs: [{ name: 'in_uint8', datatype: 'UINT8', shape: [1, 2], data: [1, 300] }] }, 400, '300');
  });

  it('rejects malformed bodies with 400, never 500', async () => {
    for (const body of ['{"inputs": [', '[]', '"x"', '{}', '{"inputs": "x"}', '{"inputs": [{"name": 1}]}', 'null']) {
      const r = await infer('/v2/models/fixed/infer', body);
      expect(r.status, body).toBe(400);
      expect(typeof r.json.error, body).toBe('string');
    }
  });

  it('answers 413 for a body over the limit', async () => {
    const small = await startTestServer(async (core) => void (await core.registry.register('fixed', fixedShapeModel())), {
      bodyLimit: 1024,
    });
    try {
      const data = Array.from({ length: 600 }, () => 1.5);
      const r = await http('POST', `${small.url}/v2/models/fixed/infer`, {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 300], data }],
      });
      expect(r.status).toBe(413);
      expect(r.json.error).toContain('1024');
    } finally {
      await small.close();
    }
  });

  it('reports a model that fails at run time with a clear error, and keeps serving', async () => {
    const bad = await infer('/v2/models/failing/infer', { inputs: [{ name: 'index', datatype: 'INT64', shape: [1], data: [10] }] });
    expect(bad.status).toBe(500);
    expect(bad.json.error).toContain('model run failed');
    const good = await infer('/v2/models/failing/infer', { inputs: [{ name: 'index', datatype: 'INT64', shape: [2], data: [1, 2] }] });
    expect(good.status).toBe(200);
    expect(good.json.outputs[0].data).toEqual([10, 20]);
  });
});

describe('corrupt artifacts', () => {
  it('refuses to serve a version whose artifact no longer matches its hash', async () => {
    const s = await startTestServer(
      async (core) => {
        await core.registry.register('victim', identityModel('float32'));
      },
      { preload: false },
    );
    try {
      const dir = join(s.home, 'artifacts');
      const files = spawnSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).stdout.trim().split('\n');
      const target = files.find((f) => /[0-9a-f]{64}$/.test(f));
      expect(target).toBeTruthy();
      const bytes = readFileSync(target as string);
      bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff;
      writeFileSync(target as string, bytes);
      const r = await http('POST', `${s.url}/v2/models/victim/infer`, {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }],
      });
      expect(r.status).toBe(503);
      expect(r.json.error).toMatch(/corrupt/);
      const ready = await http('GET', `${s.url}/v2/models/victim/ready`);
      expect(ready.status).toBe(503);
      expect(readdirSync(dir).length).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});

describe('metrics', () => {
  it('exposes request counts, latency histograms and loaded models in Prometheus format', async () => {
    await infer('/v2/models/pair/infer', {
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [1, 2], data: [1, 2] },
        { name: 'b', datatype: 'FP32', shape: [1, 2], data: [3, 4] },
      ],
    });
    const r = await http('GET', `${t.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/berth_inference_requests_total\{model="pair",version="1",status="200"\} [1-9]/);
    expect(r.text).toMatch(/berth_inference_requests_total\{model="fixed",version="1",status="400"\} [1-9]/);
    expect(r.text).toContain('berth_inference_duration_seconds_bucket{le="0.0001",model="pair",version="1"}');
    expect(r.text).toMatch(/berth_models_loaded [1-9]/);
  });

  it('passes promtool check metrics', async (ctx) => {
    const probe = spawnSync('promtool', ['--version']);
    if (probe.error) {
      if (process.env.CI) throw new Error('promtool is required in CI (Debian package prometheus)');
      console.log('skipped: promtool not installed (apt-get install prometheus)');
      ctx.skip();
    }
    const full = await startTestServer(async () => {}, { defaultMetrics: true });
    try {
      const text = (await http('GET', `${full.url}/metrics`)).text;
      const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      await full.close();
    }
  });
});
