import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { type BerthCore, openCore } from '../../src/core.js';
import { type RunningServer, startServer } from '../../src/server.js';
import { identityModel } from '../fixtures/models.js';
import { http, tempHome } from '../helpers.js';
import { dropSchema, postgresUrl, reportPostgresSkipped, schemaName, withSchema } from '../postgres.js';

const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] };
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

/** A real server over a core whose registry and tokens live in PostgreSQL. */
async function serve(core: BerthCore): Promise<RunningServer> {
  const server = await startServer(core, { port: 0, logger: pino({ level: 'silent' }), defaultMetrics: false });
  for (let i = 0; i < 100 && (await fetch(`${server.url}/v2/health/ready`)).status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return server;
}

if (!postgresUrl) reportPostgresSkipped('a server on a postgres store');

describe.skipIf(!postgresUrl)('a server on a postgres store', () => {
  const schema = schemaName();
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await dropSchema(schema);
  });

  it('registers, serves and authorizes from PostgreSQL, and a second server sees the same registry', async () => {
    const { home, cleanup } = await tempHome();
    cleanups.push(cleanup);
    const storeUri = withSchema(postgresUrl!, schema);

    const core = await openCore({ home, storeUri });
    cleanups.push(() => core.close());
    expect(core.config.storeUri).toBe(storeUri);
    await core.registry.register('ident', identityModel('float32'), { alias: 'champion' });
    const { secret } = await core.tokens.create('deploy', 'ci');
    const server = await serve(core);
    cleanups.push(() => server.close());

    expect((await http('POST', `${server.url}/v2/models/ident/infer`, body)).status).toBe(401);
    const r = await http('POST', `${server.url}/v2/models/ident/infer`, body, bearer(secret));
    expect(r.status).toBe(200);
    expect(r.json.outputs[0].data).toEqual([1, 2, 3]);

    // A second server on the same schema (and the same artifact directory) answers from the shared rows.
    const core2 = await openCore({ home, storeUri });
    cleanups.push(() => core2.close());
    const server2 = await serve(core2);
    cleanups.push(() => server2.close());
    const r2 = await http('POST', `${server2.url}/v2/models/ident/versions/1/infer`, body, bearer(secret));
    expect(r2.status).toBe(200);
    expect(r2.json.outputs[0].data).toEqual([1, 2, 3]);

    // A version registered through the first server's API gets the next number on the second.
    await core.registry.register('ident', identityModel('float32', ['batch', 4]));
    const meta = await http('GET', `${server2.url}/v2/models/ident/versions/2`, undefined, bearer(secret));
    expect(meta.status).toBe(200);
    expect(meta.json.inputs[0].shape).toEqual([-1, 4]);
    expect((await core2.registry.listVersions('ident')).map((v) => v.version)).toEqual([1, 2]);
  });
});
