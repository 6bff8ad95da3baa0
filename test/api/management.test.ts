import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedShapeModel, identityModel } from '../fixtures/models.js';
import { http, startTestServer, type TestServer } from '../helpers.js';

let t: TestServer;
const api = (path: string) => `${t.url}/api/v1${path}`;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t.close());

describe('management REST API', () => {
  it('registers an uploaded ONNX file (octet-stream, metadata in the query)', async () => {
    const r = await http(
      'POST',
      api('/models/iris/versions?alias=champion&description=first&tag=team%3Dml&tag=stage%3Ddev&metric=accuracy%3D0.93'),
      identityModel('float32'),
      { 'content-type': 'application/octet-stream' },
    );
    expect(r.status, r.text).toBe(201);
    expect(r.json).toMatchObject({
      name: 'iris',
      version: 1,
      description: 'first',
      tags: { team: 'ml', stage: 'dev' },
      metrics: { accuracy: 0.93 },
      aliases: ['champion'],
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
    });
    expect(r.json.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('registers from JSON with a base64 artifact and a reference dataset', async () => {
    const csv = 'a,b,c,label\n1,2,3,x\n4,5,6,y\n';
    const r = await http('POST', api('/models/iris/versions'), {
      artifact: Buffer.from(identityModel('float32', ['batch', 4])).toString('base64'),
      description: 'second',
      reference: { data: Buffer.from(csv).toString('base64'), format: 'csv', label_column: 'label' },
    });
    expect(r.status, r.text).toBe(201);
    expect(r.json.version).toBe(2);
    expect(r.json.reference).toMatchObject({ format: 'csv', label_column: 'label', columns: ['a', 'b', 'c', 'label'], rows: 2 });
  });

  it('lists models and shows versions by number and by alias', async () => {
    const list = await http('GET', api('/models'));
    expect(list.json.models).toHaveLength(1);
    expect(list.json.models[0]).toMatchObject({ name: 'iris', latest_version: 2, aliases: { champion: 1 } });
    const model = await http('GET', api('/models/iris'));
    expect(model.json.versions.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    expect((await http('GET', api('/models/iris/versions/2'))).json.description).toBe('second');
    expect((await http('GET', api('/models/iris/aliases/champion'))).json.version).toBe(1);
  });

  it('moves an alias, rolls it back, and keeps the history', async () => {
    const moved = await http('PUT', api('/models/iris/aliases/champion'), { version: 2 });
    expect(moved.json).toMatchObject({ alias: 'champion', version: 2, previous_version: 1, action: 'set' });
    const back = await http('POST', api('/models/iris/aliases/champion/rollback'));
    expect(back.json).toMatchObject({ version: 1, previous_version: 2, action: 'rollback' });
    const again = await http('POST', api('/models/iris/aliases/champion/rollback'));
    expect(again.status).toBe(409);
    expect(again.json.code).toBe('BERTH_E_CONFLICT');
    const history = await http('GET', api('/models/iris/alias-history?alias=champion'));
    expect(history.json.events.map((e: { action: string }) => e.action)).toEqual(['rollback', 'set', 'set']);
  });

  it('refuses to delete an aliased version, deletes it once the alias is gone', async () => {
    const refused = await http('DELETE', api('/models/iris/versions/1'));
    expect(refused.status).toBe(409);
    expect(refused.json.error).toContain('champion');
    expect((await http('DELETE', api('/models/iris/aliases/champion'))).status).toBe(200);
    expect((await http('DELETE', api('/models/iris/versions/1'))).status).toBe(204);
    expect((await http('GET', api('/models/iris/versions/1'))).status).toBe(404);
  });

  it('answers 400 naming the field for bad input, and refuses files ONNX Runtime cannot load', async () => {
    const bad = await http('POST', api('/models/iris/versions'), { artifact: 'not base64!' });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toContain('artifact');
    const alias = await http('PUT', api('/models/iris/aliases/champion'), { version: 'two' });
    expect(alias.status).toBe(400);
    expect(alias.json.error).toContain('version');
    const junk = await http('POST', api('/models/iris/versions'), new TextEncoder().encode('this is not onnx'), {
      'content-type': 'application/octet-stream',
    });
    expect(junk.status).toBe(400);
    expect(junk.json.code).toBe('BERTH_E_INVALID_MODEL');
    expect((await http('GET', api('/models/iris'))).json.versions.map((v: { version: number }) => v.version)).toEqual([2]);
    const badName = await http('POST', api('/models/bad%20name/versions'), fixedShapeModel(), { 'content-type': 'application/octet-stream' });
    expect(badName.status).toBe(400);
  });
});
