import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferenceService } from '../../src/serving/grpc/index.js';
import { identityModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer } from '../helpers.js';

let t: TestServer;
const body = (cols: number) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, cols], data: Array(cols).fill(1) }] });

beforeAll(async () => {
  t = await startTestServer(async (core) => {
    // both versions take [-1, -1] so one request body fits either variant
    await core.registry.register('ranker', identityModel('float32', ['batch', 'n']), { alias: 'champion' });
    await core.registry.register('ranker', identityModel('float32', ['batch', 'n']));
  }, { grpcPort: 0 });
});
afterAll(async () => t.close());

describe('A/B experiments in the inference path', () => {
  it('assigns each unit a sticky variant, answers from its version and joins outcomes by request id', async () => {
    const created = await http('POST', `${t.url}/api/v1/experiments`, {
      name: 'rank-ab',
      model: 'ranker',
      variants: ['control=ranker:1', 'treatment=ranker:2'],
      unit: 'header:x-user-id',
      metric: 'binary',
    });
    expect(created.status, created.text).toBe(201);
    const seen = new Map<string, string>();
    const outcomes: { request_id: string; value: number }[] = [];
    for (let i = 0; i < 60; i++) {
      const user = `u${i % 30}`;
      const r = await http('POST', `${t.url}/v2/models/ranker/infer`, body(3), { 'x-user-id': user });
      expect(r.status, r.text).toBe(200);
      const variant = r.headers.get('x-berth-variant') as string;
      expect(r.json.parameters).toMatchObject({ experiment: 'rank-ab', variant });
      expect(r.json.model_version).toBe(variant === 'control' ? '1' : '2');
      if (seen.has(user)) expect(seen.get(user)).toBe(variant);
      seen.set(user, variant);
      outcomes.push({ request_id: r.headers.get('x-request-id') as string, value: i % 2 });
    }
    expect(new Set(seen.values()).size).toBe(2);
    // without the unit header, or with an explicit version, the experiment is bypassed
    const anonymous = await http('POST', `${t.url}/v2/models/ranker/infer`, body(3));
    expect(anonymous.headers.get('x-berth-variant')).toBeNull();
    expect(anonymous.json.model_version).toBe('1');
    const pinned = await http('POST', `${t.url}/v2/models/ranker/versions/2/infer`, body(3), { 'x-user-id': 'u1' });
    expect(pinned.headers.get('x-berth-variant')).toBeNull();

    await new Promise((r) => setTimeout(r, 150)); // exposures go in batches; outcomes and reports flush them first
    const posted = await http('POST', `${t.url}/api/v1/experiments/rank-ab/outcomes`, { outcomes });
    expect(posted.status, posted.text).toBe(200);
    expect(posted.json.unmatched).toEqual([]);
    const report = await http('GET', `${t.url}/api/v1/experiments/rank-ab/report`);
    expect(report.status).toBe(200);
    expect(report.json.variants.reduce((n: number, v: { n: number }) => n + v.n, 0)).toBe(30);
  });
});

describe('A/B experiments over gRPC', () => {
  it('routes ModelInfer by the unit in the call metadata, like REST', async () => {
    const Ctor = inferenceService();
    const client = new Ctor(t.server.grpc?.address as string, credentials.createInsecure());
    const infer = (user: string) =>
      new Promise<{ model_version: string; parameters: Record<string, { string_param?: string }> }>((resolve, reject) => {
        const md = new Metadata();
        md.set('x-user-id', user);
        const call = (client as unknown as Record<string, (...a: unknown[]) => void>).ModelInfer as (...a: unknown[]) => void;
        call.call(
          client,
          { model_name: 'ranker', inputs: [{ name: 'x', datatype: 'FP32', shape: ['1', '3'], contents: { fp32_contents: [1, 2, 3] } }] },
          md,
          (err: ServiceError | null, value: { model_version: string; parameters: Record<string, { string_param?: string }> }) =>
            err ? reject(err) : resolve(value),
        );
      });
    try {
      for (const user of ['u1', 'u2', 'u3', 'u4', 'u5', 'u6']) {
        const rest = await http('POST', `${t.url}/v2/models/ranker/infer`, body(3), { 'x-user-id': user });
        const grpc = await infer(user);
        expect(grpc.parameters.variant?.string_param).toBe(rest.headers.get('x-berth-variant'));
        expect(grpc.model_version).toBe(rest.json.model_version);
      }
    } finally {
      client.close();
    }
  });
});
