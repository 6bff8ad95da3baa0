import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchJobs, batchJobsPlugin } from '../../src/batch/index.js';
import { type BerthCore, openCore } from '../../src/core.js';
import { buildWeatherDemo, LABEL_COLUMN, type WeatherDemo } from '../../src/demo/index.js';
import { BerthError } from '../../src/errors.js';
import { tempHome } from '../helpers.js';

// The plugin is mounted on a bare Fastify app with the server's error mapping (BerthError -> status and
// body) until the lead registers it in startServer; the role checks are the server's and are tested there.
let home: string;
let cleanup: () => Promise<void>;
let core: BerthCore;
let demo: WeatherDemo;
let app: FastifyInstance;

async function call(method: 'GET' | 'POST', url: string, payload?: unknown) {
  const r = await app.inject({ method, url, payload: payload as Record<string, unknown> });
  return { status: r.statusCode, json: r.json() };
}

async function waitFor(id: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const r = await call('GET', `/api/v1/batch-jobs/${id}`);
    if (!['queued', 'running'].includes(r.json.status)) return r.json;
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error('job did not finish');
}

beforeAll(async () => {
  ({ home, cleanup } = await tempHome());
  core = await openCore({ home });
  demo = await buildWeatherDemo(join(home, 'demo'));
  await core.registry.register('weather', { path: demo.modelPath }, { reference: { path: demo.referencePath, labelColumn: LABEL_COLUMN } });
  app = Fastify();
  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof BerthError) return reply.code(err.status).send({ error: err.message, code: err.code });
    return reply.code(500).send({ error: 'internal error' });
  });
  await app.register(batchJobsPlugin, { core });
});
afterAll(async () => {
  await app.close();
  await core.close();
  await cleanup();
});

describe('batch job API', () => {
  it('runs a job and reports status, rows done, errors and rows/s', async () => {
    const input = join(home, 'in.csv');
    writeFileSync(input, 'precipitation,temp_max,temp_min,wind\n0,10,5,3\nx,10,5,3\n2.5,12,8,4\n');
    const output = join(home, 'out.parquet');
    const created = await call('POST', '/api/v1/batch-jobs', { model: 'weather', input, output, batch_size: 2 });
    expect(created.status).toBe(202);
    expect(created.json).toMatchObject({ status: 'queued', model: 'weather', version: 1, batch_size: 2 });
    const done = await waitFor(created.json.id);
    expect(done).toMatchObject({ status: 'succeeded', rows_done: 3, rows_written: 2, errors: 1, error_file: `${output}.errors.jsonl` });
    expect(done['rows_per_sec']).toBeGreaterThan(0);
    expect(existsSync(output)).toBe(true);
    expect((await call('GET', '/api/v1/batch-jobs')).json.jobs.map((j: { id: string }) => j.id)).toContain(created.json.id);
  });

  it('reports a job that fails while running', async () => {
    const input = join(home, 'nocol.csv');
    writeFileSync(input, 'precipitation,temp_max\n1,2\n');
    const created = await call('POST', '/api/v1/batch-jobs', { model: 'weather', input, output: join(home, 'nocol-out.csv') });
    const done = await waitFor(created.json.id);
    expect(done).toMatchObject({ status: 'failed' });
    expect(done['message']).toMatch(/has no columns 'temp_min', 'wind'/);
  });

  it('answers 400 naming the field for a bad request, 404 for an unknown job or model', async () => {
    const output = join(home, 'o.csv');
    const cases: [unknown, RegExp][] = [
      [{ input: demo.livePath, output }, /'model' must be/],
      [{ model: 'weather', input: demo.livePath, output, batch_size: -1 }, /batch_size/],
      [{ model: 'weather', input: demo.livePath, output, columns: 'a,b' }, /'columns' must be/],
      [{ model: 'weather', input: demo.livePath, output, colums: ['a'] }, /unknown field 'colums'/],
      [{ model: 'weather', input: join(home, 'missing.csv'), output }, /not found/],
      [[1, 2], /JSON object/],
    ];
    for (const [body, msg] of cases) {
      const r = await call('POST', '/api/v1/batch-jobs', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.error).toMatch(msg);
    }
    expect((await call('POST', '/api/v1/batch-jobs', { model: 'ghost', input: demo.livePath, output })).status).toBe(404);
    expect((await call('GET', '/api/v1/batch-jobs/nope')).status).toBe(404);
  });

  it('keeps job files inside the batch directory when the plugin is given one', async () => {
    const root = join(home, 'jail');
    mkdirSync(root);
    writeFileSync(join(root, 'in.csv'), 'precipitation,temp_max,temp_min,wind\n0,10,5,3\n');
    const jailed = Fastify();
    jailed.setErrorHandler((err: Error, _req, reply) => reply.code(err instanceof BerthError ? err.status : 500).send({ error: err.message }));
    await jailed.register(batchJobsPlugin, { core, root, dbPath: join(home, 'jail.db') });
    const post = (payload: Record<string, unknown>) => jailed.inject({ method: 'POST', url: '/api/v1/batch-jobs', payload });
    const outside = await post({ model: 'weather', input: demo.livePath, output: 'out.csv' });
    expect(outside.statusCode).toBe(400);
    expect(outside.json().error).toMatch(/'input' must be a file inside the batch directory/);
    expect((await post({ model: 'weather', input: 'in.csv', output: '../out.csv' })).statusCode).toBe(400);
    const ok = await post({ model: 'weather', input: 'in.csv', output: 'out.csv' });
    expect(ok.statusCode).toBe(202);
    expect(ok.json().output).toBe(join(root, 'out.csv'));
    await jailed.close();
  });

  it('keeps job records in SQLite across restarts', async () => {
    const dbPath = join(home, 'jobs-restart.db');
    const jobs = new BatchJobs(core, dbPath);
    const job = await jobs.submit({ model: 'weather', input: demo.livePath, output: join(home, 'restart.csv') });
    await jobs.close();
    const again = new BatchJobs(core, dbPath);
    const seen = again.get(job.id);
    expect(['succeeded', 'interrupted']).toContain(seen.status);
    expect(seen.model).toBe('weather');
    await again.close();
  });
});

// Through the real server, with its token roles.
describe('batch job API in berth serve', async () => {
  const { startTestServer, http } = await import('../helpers.js');

  it('needs a deploy token to submit and a read token to look', async () => {
    let read = '';
    let deploy = '';
    // tokens exist before the server starts, so that it requires them from the first request
    const srv = await startTestServer(async (c) => {
      const d = await buildWeatherDemo(join(home, 'srv-demo'));
      await c.registry.register('weather', { path: d.modelPath }, { reference: { path: d.referencePath, labelColumn: LABEL_COLUMN } });
      read = (await c.tokens.create('read')).secret;
      deploy = (await c.tokens.create('deploy')).secret;
    });
    try {
      const body = { model: 'weather', input: join(home, 'srv-demo', 'live-2015.csv'), output: join(home, 'srv-out.csv') };
      expect((await http('POST', `${srv.url}/api/v1/batch-jobs`, body)).status).toBe(401);
      expect((await http('POST', `${srv.url}/api/v1/batch-jobs`, body, { authorization: `Bearer ${read}` })).status).toBe(403);
      const created = await http('POST', `${srv.url}/api/v1/batch-jobs`, body, { authorization: `Bearer ${deploy}` });
      expect(created.status).toBe(202);
      let job = created.json;
      for (let i = 0; i < 200 && ['queued', 'running'].includes(job.status); i++) {
        await new Promise((r) => setTimeout(r, 20));
        job = (await http('GET', `${srv.url}/api/v1/batch-jobs/${created.json.id}`, undefined, { authorization: `Bearer ${read}` })).json;
      }
      expect(job).toMatchObject({ status: 'succeeded', rows_done: 365, errors: 0 });
    } finally {
      await srv.close();
    }
  });

  it('keeps job files inside --batch-root when the server is given one', async () => {
    const root = join(home, 'served-root');
    mkdirSync(root, { recursive: true });
    const srv = await startTestServer(async () => {}, { batchRoot: root });
    try {
      const outside = await http('POST', `${srv.url}/api/v1/batch-jobs`, { model: 'weather', input: '/etc/passwd', output: 'out.csv' });
      expect(outside.status).toBe(400);
      expect(outside.json.error).toContain(root);
      const escaping = await http('POST', `${srv.url}/api/v1/batch-jobs`, { model: 'weather', input: 'in.csv', output: '../escaped.csv' });
      expect(escaping.status).toBe(400);
      expect(escaping.json.error).toContain("'output'");
    } finally {
      await srv.close();
    }
  });
});
