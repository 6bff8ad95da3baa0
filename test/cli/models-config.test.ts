import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityModel } from '../fixtures/models.js';
import { type CliResult, runBerth, startTestServer, type TestServer, tempHome } from '../helpers.js';

let home: string;
let cleanup: () => Promise<void>;
let model: string;
const berth = (...args: string[]): Promise<CliResult> => runBerth(home, args);

beforeAll(async () => {
  ({ home, cleanup } = await tempHome());
  model = join(home, 'm.onnx');
  writeFileSync(model, identityModel('float32'));
  writeFileSync(
    join(home, 'serving.yaml'),
    'dynamic_batching:\n  max_batch_size: 16\n  max_queue_delay_us: 250\n  preferred_batch_sizes: [4, 8]\n  max_queue_size: 64\ncache:\n  max_bytes: 1048576\n',
  );
  writeFileSync(join(home, 'serving.json'), JSON.stringify({ dynamic_batching: { max_batch_size: 1 } }));
  writeFileSync(join(home, 'bad.yaml'), 'dynamic_batching:\n  max_queue_delay_us: soon\n');
});
afterAll(async () => cleanup());

describe('berth models register --config', () => {
  it('stores the file as serving tags', async () => {
    const r = await berth('models', 'register', 'cfg', model, '--config', join(home, 'serving.yaml'), '--tag', 'team=ml', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).tags).toEqual({
      team: 'ml',
      max_batch_size: '16',
      max_queue_delay_us: '250',
      preferred_batch_sizes: '4,8',
      max_queue_size: '64',
      cache_max_bytes: '1048576',
    });
  });

  it('refuses a bad value naming the field, and registers nothing', async () => {
    const r = await berth('models', 'register', 'cfg', model, '--config', join(home, 'bad.yaml'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('dynamic_batching.max_queue_delay_us');
    const tag = await berth('models', 'register', 'cfg', model, '--tag', 'max_queue_size=0');
    expect(tag.code).not.toBe(0);
    expect(tag.stderr).toContain('max_queue_size');
    const list = JSON.parse((await berth('models', 'show', 'cfg', '--json')).stdout);
    expect(list.versions).toHaveLength(1);
  });

  it('works against a remote server', async () => {
    const t: TestServer = await startTestServer();
    try {
      const r = await runBerth(home, ['--server', t.url, 'models', 'register', 'remote', model, '--config', join(home, 'serving.json'), '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).tags).toEqual({ max_batch_size: '1' });
      expect((await t.core.registry.resolve({ name: 'remote' })).tags).toEqual({ max_batch_size: '1' });
    } finally {
      await t.close();
    }
  });
});
