import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFeatureStore } from '../../src/features/index.js';
import { http, startTestServer, type TestServer } from '../helpers.js';
import { writeRepo } from './fixture.js';

let t: TestServer;
let reader: string;
const ms = (s: string) => Date.parse(`${s}Z`);

beforeAll(async () => {
  t = await startTestServer(async (core) => {
    const store = openFeatureStore({ home: core.config.home });
    await store.apply(writeRepo(join(core.config.home, 'repo')));
    await store.materialize(0, ms('2026-01-02T00:00:00'));
    await store.close();
    reader = (await core.tokens.create('read')).secret;
  });
});
afterAll(async () => t.close());

describe('feature serving in the Berth server', () => {
  it('answers /get-online-features in Feast shape, behind the server auth', async () => {
    const body = { features: ['driver_hourly:conv_rate'], entities: { driver_id: [1001, 9999] } };
    expect((await http('POST', `${t.url}/get-online-features`, body)).status).toBe(401);
    const r = await http('POST', `${t.url}/get-online-features`, body, { authorization: `Bearer ${reader}` });
    expect(r.status, r.text).toBe(200);
    expect(r.json.metadata.feature_names).toEqual(['driver_id', 'conv_rate']);
    expect(r.json.results[1].statuses[1]).toBe('NOT_FOUND');
    expect(r.json.results[1].statuses[0]).toMatch(/PRESENT|OUTSIDE_MAX_AGE|NULL_VALUE/);
  });

  it('answers 400 naming an unknown feature', async () => {
    const r = await http(
      'POST',
      `${t.url}/get-online-features`,
      { features: ['driver_hourly:nope'], entities: { driver_id: [1001] } },
      { authorization: `Bearer ${reader}` },
    );
    expect(r.status).toBe(400);
    expect(r.json.error).toContain('nope');
  });
});
