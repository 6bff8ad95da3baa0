import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFeatureStore } from '../../src/features/index.js';
import { buildModel } from '../../src/onnx/index.js';
import { inferenceService } from '../../src/serving/grpc/index.js';
import { http, startTestServer, type TestServer } from '../helpers.js';
import { writeRepo } from '../features/fixture.js';

/** y = x · W for x FP32 [batch, 2] and W = [[1], [100]]: column 0 counts once, column 1 a hundredfold. */
const W = [1, 100];
function linearModel(): Uint8Array {
  return buildModel({
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', 2] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['batch', 1] }],
    nodes: [{ op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] }],
    initializers: [{ name: 'w', type: 'float32', dims: [2, 1], data: new Float32Array(W) }],
    graphName: 'linear',
  });
}

/** Inputs `driver_id` INT64 [batch] and `x` FP32 [batch, 2]; outputs `id` = driver_id and `y` = x · W. */
function keyedModel(): Uint8Array {
  return buildModel({
    inputs: [
      { name: 'driver_id', type: 'int64', shape: ['batch'] },
      { name: 'x', type: 'float32', shape: ['batch', 2] },
    ],
    outputs: [
      { name: 'id', type: 'int64', shape: ['batch'] },
      { name: 'y', type: 'float32', shape: ['batch', 1] },
    ],
    nodes: [
      { op: 'Identity', inputs: ['driver_id'], outputs: ['id'] },
      { op: 'MatMul', inputs: ['x', 'w'], outputs: ['y'] },
    ],
    initializers: [{ name: 'w', type: 'float32', dims: [2, 1], data: new Float32Array(W) }],
    graphName: 'keyed',
  });
}

const SERVICE = 'driver_model_v1';
let ts: TestServer;
/** Fresh rows pushed at start-up: [conv_rate, trips] per driver. */
const PUSHED = { driver_id: [1001, 1002, 1005], conv_rate: [0.3, 0.6, null], trips: [4, 7, 9] };

beforeAll(async () => {
  ts = await startTestServer(async (core) => {
    const home = core.config.home;
    const store = openFeatureStore({ home });
    await store.apply(writeRepo(join(home, 'repo')));
    // January rows: every driver's materialized value is older than the 2h TTL by now
    await store.materialize(Date.parse('2026-01-01T00:00:00Z'), Date.parse('2026-01-01T11:00:00Z'));
    const now = new Date().toISOString();
    const stamps = PUSHED.driver_id.map(() => now);
    await store.push({ push_source_name: 'driver_stats', df: { ...PUSHED, event_timestamp: stamps, created: stamps } });
    await store.close();
    const model = linearModel();
    // columns in the model's order, the reverse of the service's
    await core.registry.register('driver_score', model, {
      tags: { feature_service: SERVICE, feature_columns: 'trips,driver_hourly:conv_rate', entity_keys: 'driver_id' },
    });
    await core.registry.register('driver_default', model, {
      tags: { feature_service: SERVICE, feature_columns: 'trips,conv_rate', feature_defaults: 'conv_rate:0.5,trips:2' },
    });
    await core.registry.register('keyed', keyedModel(), { tags: { feature_service: SERVICE, feature_input: 'x', feature_columns: 'trips,conv_rate' } });
    await core.registry.register('late_service', model, { tags: { feature_service: 'late' } });
    await core.registry.register('plain', model);
    await core.registry.register('unknown_service', model, { tags: { feature_service: 'nope' } });
    await core.registry.register('wrong_width', model, { tags: { feature_service: SERVICE, feature_columns: 'trips' } });
  }, { grpcPort: 0 });
});
afterAll(async () => ts?.close());

/** What the model gives for [trips, conv_rate] read back from the online store (float32 arithmetic). */
async function expectedScores(ids: number[]): Promise<number[]> {
  const store = openFeatureStore({ home: ts.home });
  try {
    const r = await store.getOnlineFeatures({ service: SERVICE, entities: { driver_id: ids } });
    const conv = r.results[r.metadata.feature_names.indexOf('conv_rate')]!.values as number[];
    const trips = r.results[r.metadata.feature_names.indexOf('trips')]!.values as number[];
    return ids.map((_, i) => Math.fround(Math.fround(trips[i]!) * W[0]! + Math.fround(Math.fround(conv[i]!) * W[1]!)));
  } finally {
    await store.close();
  }
}

const infer = (model: string, body: unknown) => http('POST', `${ts.url}/v2/models/${model}/infer`, body);

describe('models that declare a feature service', () => {
  it('fetch the features of the entity keys given as an input and answer with the model applied to them', async () => {
    const r = await infer('driver_score', { inputs: [{ name: 'driver_id', datatype: 'INT64', shape: [2], data: [1002, 1001] }] });
    expect(r.status, r.text).toBe(200);
    const y = r.json.outputs[0];
    expect(y.name).toBe('y');
    expect(y.shape).toEqual([2, 1]);
    const want = await expectedScores([1002, 1001]);
    expect(y.data[0]).toBeCloseTo(want[0]!, 4);
    expect(y.data[1]).toBeCloseTo(want[1]!, 4);
    // the stored values really reach the model: conv_rate is weighted 100, trips 1
    expect(y.data[0]).toBeCloseTo(PUSHED.trips[1]! + 100 * PUSHED.conv_rate[1]!, 4);
  });

  it('take the key as a request parameter with no inputs, or as a BYTES input', async () => {
    const [want] = await expectedScores([1001]);
    const byParam = await infer('driver_score', { parameters: { driver_id: 1001 }, inputs: [] });
    expect(byParam.status, byParam.text).toBe(200);
    expect(byParam.json.outputs[0].data[0]).toBeCloseTo(want!, 4);
    const byBytes = await infer('driver_score', { inputs: [{ name: 'driver_id', datatype: 'BYTES', shape: [1, 1], data: ['1001'] }] });
    expect(byBytes.status, byBytes.text).toBe(200);
    expect(byBytes.json.outputs[0].data[0]).toBeCloseTo(want!, 4);
  });

  it('refuse an entity the online store lacks with a 400 naming the entity and the feature', async () => {
    const r = await infer('driver_score', { inputs: [{ name: 'driver_id', datatype: 'INT64', shape: [2], data: [1001, 1003] }] });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/driver_id=1003/);
    expect(r.json.error).toMatch(/driver_hourly:trips/);
    expect(r.json.error).toMatch(/not in the online store/);
  });

  it('refuse expired and null features, naming them', async () => {
    const expired = await infer('driver_score', { parameters: { driver_id: 1004 }, inputs: [] });
    expect(expired.status).toBe(400);
    expect(expired.json.error).toMatch(/driver_id=1004.*OUTSIDE_MAX_AGE/);
    const nulled = await infer('driver_score', { parameters: { driver_id: 1005 }, inputs: [] });
    expect(nulled.status).toBe(400);
    expect(nulled.json.error).toMatch(/'driver_hourly:conv_rate' of entity driver_id=1005 is null/);
  });

  it('use declared defaults for missing, expired and null features', async () => {
    const r = await infer('driver_default', { inputs: [{ name: 'driver_id', datatype: 'INT64', shape: [3], data: [1003, 1004, 1005] }] });
    expect(r.status, r.text).toBe(200);
    const f = Math.fround;
    expect(r.json.outputs[0].data).toEqual([f(2 + f(f(0.5) * 100)), f(2 + f(f(0.5) * 100)), f(9 + f(f(0.5) * 100))]);
  });

  it('refuse a request without the entity key, naming it', async () => {
    const r = await infer('driver_score', { parameters: { rider: 'x' }, inputs: [] });
    expect(r.status).toBe(400);
    expect(r.json.error).toMatch(/entity key 'driver_id'/);
  });

  it('still take the feature input itself when the client sends it', async () => {
    const r = await infer('driver_score', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [3, 0.5] }] });
    expect(r.status, r.text).toBe(200);
    expect(r.json.outputs[0].data).toEqual([53]);
  });

  it('keep an entity key that is also a model input, filling the input named by feature_input', async () => {
    const r = await infer('keyed', { inputs: [{ name: 'driver_id', datatype: 'INT64', shape: [1], data: [1002] }] });
    expect(r.status, r.text).toBe(200);
    const out = Object.fromEntries(r.json.outputs.map((o: { name: string; data: number[] }) => [o.name, o.data]));
    expect(out.id).toEqual([1002]);
    expect(out.y[0]).toBeCloseTo((await expectedScores([1002]))[0]!, 4);
  });

  it('see a service applied by another process while the server runs', async () => {
    const body = { parameters: { driver_id: 1001 }, inputs: [] };
    expect((await infer('late_service', body)).status).toBe(400);
    const file = writeRepo(join(ts.home, 'repo'));
    appendFileSync(file, '  - name: late\n    features: [driver_hourly:trips, driver_hourly:conv_rate]\n');
    const other = openFeatureStore({ home: ts.home });
    await other.apply(file);
    await other.close();
    let r = await infer('late_service', body);
    for (let i = 0; i < 60 && r.status !== 200; i++) {
      await new Promise((res) => setTimeout(res, 50));
      r = await infer('late_service', body);
    }
    expect(r.status, r.text).toBe(200);
    expect(r.json.outputs[0].data[0]).toBeCloseTo((await expectedScores([1001]))[0]!, 4);
  });

  it('fail clearly when the declared service is not applied or the mapping does not fit the input', async () => {
    const unknown = await infer('unknown_service', { parameters: { driver_id: 1001 }, inputs: [] });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatch(/feature service 'nope'.*not applied/);
    const narrow = await infer('wrong_width', { parameters: { driver_id: 1001 }, inputs: [] });
    expect(narrow.status).toBe(400);
    expect(narrow.json.error).toMatch(/shape \[-1, 2\].*\[-1, 1\]/);
  });
});

describe('models without a feature service', () => {
  it('are unaffected: they run their own inputs and do not take entity keys', async () => {
    const r = await infer('plain', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [3, 0.5] }] });
    expect(r.status, r.text).toBe(200);
    expect(r.json.outputs[0].data).toEqual([53]);
    const keyed = await infer('plain', { inputs: [{ name: 'driver_id', datatype: 'INT64', shape: [1], data: [1001] }] });
    expect(keyed.status).toBe(400);
    expect(keyed.json.error).toMatch(/'driver_id' is not an input/);
  });
});

/** One gRPC ModelInfer call; resolves with the response or rejects with the ServiceError. */
function grpcInfer(request: object): Promise<{ outputs: { name: string; contents: { fp32_contents: number[] } }[] }> {
  const Ctor = inferenceService();
  const client: Client = new Ctor(ts.server.grpc!.address, credentials.createInsecure());
  const fn = (client as unknown as Record<string, (r: object, m: Metadata, cb: (e: ServiceError | null, v: unknown) => void) => void>).ModelInfer!;
  return new Promise((resolve, reject) => {
    fn.call(client, request, new Metadata(), (err, value) => {
      client.close();
      if (err) reject(err);
      else resolve(value as never);
    });
  });
}

describe('over gRPC', () => {
  it('builds the features from an entity-key input or an int64 parameter', async () => {
    const [want] = await expectedScores([1001]);
    const byInput = await grpcInfer({ model_name: 'driver_score', inputs: [{ name: 'driver_id', datatype: 'INT64', shape: [1], contents: { int64_contents: [1001] } }] });
    expect(byInput.outputs[0]!.contents.fp32_contents[0]).toBeCloseTo(want!, 4);
    const byParam = await grpcInfer({ model_name: 'driver_score', parameters: { driver_id: { int64_param: 1001 } } });
    expect(byParam.outputs[0]!.contents.fp32_contents[0]).toBeCloseTo(want!, 4);
  });

  it('answers INVALID_ARGUMENT naming the entity for a missing one', async () => {
    const err = await grpcInfer({ model_name: 'driver_score', parameters: { driver_id: { int64_param: 1003 } } }).then(
      () => undefined,
      (e: ServiceError) => e,
    );
    expect(err?.code).toBe(status.INVALID_ARGUMENT);
    expect(err?.details).toMatch(/driver_id=1003/);
  });
});
