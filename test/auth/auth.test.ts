import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCore } from '../../src/core.js';
import { startServer } from '../../src/server.js';
import { identityModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer, tempHome } from '../helpers.js';

const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] };
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('a loopback server without tokens', () => {
  it('runs open', async () => {
    const t = await startTestServer(async (core) => void (await core.registry.register('m', identityModel('float32'))));
    try {
      expect((await http('POST', `${t.url}/v2/models/m/infer`, body)).status).toBe(200);
      expect((await http('GET', `${t.url}/api/v1/models`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe('a server with tokens', () => {
  let t: TestServer;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    t = await startTestServer(async (core) => {
      await core.registry.register('m', identityModel('float32'));
      await core.registry.register('m', identityModel('float32', ['batch', 4]));
      for (const role of ['read', 'deploy', 'admin'] as const) tokens[role] = (await core.tokens.create(role)).secret;
    });
  });
  afterAll(async () => t.close());

  it('answers 401 with a V2 error body without a token or with a wrong one', async () => {
    for (const headers of [{}, bearer('berth_wrong'), { authorization: 'Basic abc' }]) {
      const r = await http('POST', `${t.url}/v2/models/m/versions/1/infer`, body, headers);
      expect(r.status).toBe(401);
      expect(Object.keys(r.json)).toEqual(['error']);
    }
    expect((await http('GET', `${t.url}/metrics`)).status).toBe(401);
  });

  it('keeps health probes public', async () => {
    expect((await http('GET', `${t.url}/v2/health/live`)).status).toBe(200);
    expect((await http('GET', `${t.url}/v2/health/ready`)).status).toBe(200);
  });

  it('lets read infer and read metadata, but not move aliases', async () => {
    expect((await http('POST', `${t.url}/v2/models/m/versions/1/infer`, body, bearer(tokens.read!))).status).toBe(200);
    expect((await http('GET', `${t.url}/v2/models/m`, undefined, bearer(tokens.read!))).status).toBe(200);
    const r = await http('PUT', `${t.url}/api/v1/models/m/aliases/champion`, { version: 1 }, bearer(tokens.read!));
    expect(r.status).toBe(403);
    expect(r.json.error).toContain("'deploy'");
  });

  it('lets deploy move aliases, but not delete versions or manage tokens', async () => {
    expect((await http('PUT', `${t.url}/api/v1/models/m/aliases/champion`, { version: 1 }, bearer(tokens.deploy!))).status).toBe(200);
    expect((await http('DELETE', `${t.url}/api/v1/models/m/versions/2`, undefined, bearer(tokens.deploy!))).status).toBe(403);
    expect((await http('GET', `${t.url}/api/v1/tokens`, undefined, bearer(tokens.deploy!))).status).toBe(403);
  });

  it('lets admin do everything, and a revoked token stops working', async () => {
    const created = await http('POST', `${t.url}/api/v1/tokens`, { role: 'read', name: 'ci' }, bearer(tokens.admin!));
    expect(created.status).toBe(201);
    expect(created.json.token).toMatch(/^berth_/);
    const list = await http('GET', `${t.url}/api/v1/tokens`, undefined, bearer(tokens.admin!));
    expect(JSON.stringify(list.json)).not.toContain(created.json.token);
    expect((await http('POST', `${t.url}/v2/models/m/versions/1/infer`, body, bearer(created.json.token))).status).toBe(200);
    const revoked = await http('DELETE', `${t.url}/api/v1/tokens/${created.json.id}`, undefined, bearer(tokens.admin!));
    expect(revoked.status).toBe(200);
    expect((await http('POST', `${t.url}/v2/models/m/versions/1/infer`, body, bearer(created.json.token))).status).toBe(401);
    expect((await http('DELETE', `${t.url}/api/v1/models/m/versions/2`, undefined, bearer(tokens.admin!))).status).toBe(204);
  });
});

describe('binding beyond loopback', () => {
  it('refuses to start without tokens, and starts with auth on when one exists', async () => {
    const { home, cleanup } = await tempHome();
    const core = await openCore({ home });
    try {
      await expect(startServer(core, { host: '0.0.0.0', port: 0, logger: pino({ level: 'silent' }) })).rejects.toThrow(
        /refusing to listen on 0\.0\.0\.0 without API tokens/,
      );
      await core.tokens.create('admin');
      const s = await startServer(core, { host: '0.0.0.0', port: 0, logger: pino({ level: 'silent' }), defaultMetrics: false });
      try {
        const port = new URL(s.url).port;
        expect((await http('GET', `http://127.0.0.1:${port}/api/v1/models`)).status).toBe(401);
      } finally {
        await s.close();
      }
    } finally {
      await core.close();
      await cleanup();
    }
  });
});
