import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityModel } from '../fixtures/models.js';
import { startTestServer, type TestServer, tempHome, type CliResult, runBerth } from '../helpers.js';

let home: string;
let cleanup: () => Promise<void>;
let modelA: string;
let modelB: string;

/** Runs the real built binary (asynchronously: the remote tests' server lives in this process). */
function berth(...args: string[]): Promise<CliResult> {
  return runBerth(home, args);
}
const json = async (...args: string[]) => {
  const r = await berth(...args, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  ({ home, cleanup } = await tempHome());
  modelA = join(home, 'a.onnx');
  modelB = join(home, 'b.onnx');
  writeFileSync(modelA, identityModel('float32'));
  writeFileSync(modelB, identityModel('float32', ['batch', 5]));
  writeFileSync(join(home, 'ref.csv'), 'x1,x2,x3,y\n1,2,3,a\n');
});
afterAll(async () => cleanup());

describe('berth models (local)', async () => {
  it('registers and prints the new version', async () => {
    const v = await json('models', 'register', 'clf', modelA, '--alias', 'champion', '--description', 'base', '--tag', 'team=ml', '--metric', 'f1=0.8');
    expect(v).toMatchObject({ name: 'clf', version: 1, aliases: ['champion'], tags: { team: 'ml' }, metrics: { f1: 0.8 } });
    const human = await berth('models', 'register', 'clf', modelB, '--reference', join(home, 'ref.csv'), '--label-column', 'y');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('Registered clf version 2');
    expect(human.stdout).toContain('x  FP32  [-1,5]');
  });

  it('lists and shows models, versions and aliases', async () => {
    const list = await json('models', 'list');
    expect(list).toMatchObject([{ name: 'clf', latest_version: 2, aliases: { champion: 1 } }]);
    expect((await berth('models', 'list')).stdout).toMatch(/clf\s+2\s+champion=1/);
    expect((await json('models', 'show', 'clf@champion')).version).toBe(1);
    expect((await json('models', 'show', 'clf:2')).reference).toMatchObject({ label_column: 'y', rows: 1 });
    expect((await json('models', 'show', 'clf')).versions).toHaveLength(2);
  });

  it('moves an alias and rolls it back', async () => {
    expect((await berth('models', 'alias', 'clf', 'champion', '2')).stdout).toContain('clf@champion -> version 2 (was 1)');
    const back = await json('models', 'rollback', 'clf');
    expect(back).toMatchObject({ alias: 'champion', version: 1, previous_version: 2 });
    expect((await json('models', 'history', 'clf')).map((e: { action: string }) => e.action)).toEqual(['rollback', 'set', 'set']);
  });

  it('refuses to delete an aliased version with a clear message and a non-zero exit', async () => {
    const r = await berth('models', 'delete', 'clf:1');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^error: .*champion/);
    expect((await berth('models', 'delete', 'clf:2')).code).toBe(0);
  });

  it('reports bad input naming what is wrong, with a non-zero exit', async () => {
    const metric = await berth('models', 'register', 'clf', modelA, '--metric', 'f1=high');
    expect(metric.code).not.toBe(0);
    expect(metric.stderr).toContain('--metric');
    writeFileSync(join(home, 'junk.onnx'), 'not a model');
    const junk = await berth('models', 'register', 'clf', join(home, 'junk.onnx'));
    expect(junk.code).not.toBe(0);
    expect(junk.stderr).toContain('cannot load model');
    const missing = await berth('models', 'show', 'nope');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('nope');
    const usage = await berth('models', 'alias', 'clf', 'champion', 'two');
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toContain('two');
  });
});

describe('berth against a remote server (--server --token)', async () => {
  let t: TestServer;
  let admin: string;
  let reader: string;

  beforeAll(async () => {
    t = await startTestServer(async (core) => {
      admin = (await core.tokens.create('admin')).secret;
      reader = (await core.tokens.create('read')).secret;
    });
  });
  afterAll(async () => t.close());

  it('registers, lists and aliases through the management API', async () => {
    const v = await json('--server', t.url, '--token', admin, 'models', 'register', 'remote', modelA, '--alias', 'champion', '--reference', join(home, 'ref.csv'), '--label-column', 'y');
    expect(v).toMatchObject({ name: 'remote', version: 1, aliases: ['champion'], reference: { label_column: 'y' } });
    expect((await json('--server', t.url, '--token', reader, 'models', 'list'))[0].name).toBe('remote');
    expect((await json('--server', t.url, '--token', reader, 'models', 'show', 'remote')).versions[0].version).toBe(1);
    expect((await json('--server', t.url, '--token', reader, 'models', 'show', 'remote@champion')).version).toBe(1);
  });

  it('fails with the server message for a missing or weak token', async () => {
    const none = await berth('--server', t.url, 'models', 'list');
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('401');
    const weak = await berth('--server', t.url, '--token', reader, 'models', 'alias', 'remote', 'champion', '1');
    expect(weak.code).not.toBe(0);
    expect(weak.stderr).toContain('403');
  });
});

describe('berth tokens', async () => {
  it('prints a token once and stores only its hash', async () => {
    const created = await json('tokens', 'create', '--role', 'deploy', '--name', 'ci');
    expect(created.token).toMatch(/^berth_/);
    const list = await berth('tokens', 'list');
    expect(list.stdout).toContain('ci');
    expect(list.stdout).not.toContain(created.token);
    const bad = await berth('tokens', 'create', '--role', 'root');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--role');
  });
});
