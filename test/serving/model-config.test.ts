import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ModelVersion } from '../../src/registry/index.js';
import {
  DEFAULT_SERVING_CONFIG,
  readServingConfigFile,
  servingConfig,
  servingTagsFromConfig,
  validateServingTags,
} from '../../src/serving/index.js';
import { tempHome } from '../helpers.js';

const version = (tags: Record<string, string>) => ({ model: 'm', version: 1, tags }) as unknown as ModelVersion;

describe('servingConfig', () => {
  it('defaults to batches of up to 64, no delay, a queue of 1024 and no cache', () => {
    expect(servingConfig(version({}))).toEqual({
      maxBatchSize: 64,
      maxQueueDelayUs: 0,
      preferredBatchSizes: [],
      maxQueueSize: 1024,
      cacheMaxBytes: 0,
    });
  });

  it('reads the version tags', () => {
    const c = servingConfig(
      version({
        max_batch_size: '32',
        max_queue_delay_us: '500',
        preferred_batch_sizes: '16, 8,8',
        max_queue_size: '100',
        cache_max_bytes: '1048576',
        unrelated: 'x',
      }),
    );
    expect(c).toEqual({ maxBatchSize: 32, maxQueueDelayUs: 500, preferredBatchSizes: [8, 16], maxQueueSize: 100, cacheMaxBytes: 1048576 });
  });

  it('fills what the tags leave out from the given defaults', () => {
    const c = servingConfig(version({ max_queue_size: '5' }), { ...DEFAULT_SERVING_CONFIG, maxBatchSize: 8 });
    expect(c.maxBatchSize).toBe(8);
    expect(c.maxQueueSize).toBe(5);
  });

  it.each([
    ['max_batch_size', '0'],
    ['max_batch_size', 'lots'],
    ['max_batch_size', '2.5'],
    ['max_queue_delay_us', '-1'],
    ['max_queue_size', '0'],
    ['preferred_batch_sizes', '4,x'],
    ['cache_max_bytes', '1MB'],
  ])('refuses %s=%s with an error naming the tag', (tag, value) => {
    let error: unknown;
    try {
      servingConfig(version({ [tag]: value }));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'BERTH_E_BAD_REQUEST', field: tag });
    expect(String((error as Error).message)).toContain(tag);
  });

  it('refuses preferred batch sizes above the max batch size', () => {
    expect(() => validateServingTags({ max_batch_size: '8', preferred_batch_sizes: '4,16' })).toThrow(/preferred_batch_sizes/);
  });
});

describe('model config files', () => {
  it('turns a Triton-like YAML or JSON file into serving tags', async () => {
    const { home, cleanup } = await tempHome();
    try {
      const yamlPath = join(home, 'config.yaml');
      await writeFile(
        yamlPath,
        'dynamic_batching:\n  max_batch_size: 32\n  max_queue_delay_us: 200\n  preferred_batch_sizes: [8, 16]\n  max_queue_size: 256\ncache:\n  max_bytes: 65536\n',
      );
      expect(await readServingConfigFile(yamlPath)).toEqual({
        max_batch_size: '32',
        max_queue_delay_us: '200',
        preferred_batch_sizes: '8,16',
        max_queue_size: '256',
        cache_max_bytes: '65536',
      });
      const jsonPath = join(home, 'config.json');
      await writeFile(jsonPath, JSON.stringify({ dynamic_batching: { max_batch_size: 1 } }));
      expect(await readServingConfigFile(jsonPath)).toEqual({ max_batch_size: '1' });
    } finally {
      await cleanup();
    }
  });

  it('names the field of a bad value, an unknown key or an unknown section', () => {
    expect(() => servingTagsFromConfig({ dynamic_batching: { max_batch_size: -4 } })).toThrow(/dynamic_batching\.max_batch_size/);
    expect(() => servingTagsFromConfig({ dynamic_batching: { max_batch_size: 'x' } })).toThrowError(
      expect.objectContaining({ field: 'dynamic_batching.max_batch_size' }),
    );
    expect(() => servingTagsFromConfig({ cache: { max_bytes: 'big' } })).toThrow(/cache\.max_bytes/);
    expect(() => servingTagsFromConfig({ dynamic_batching: { max_delay: 5 } })).toThrow(/unknown key 'dynamic_batching\.max_delay'/);
    expect(() => servingTagsFromConfig({ batching: {} })).toThrow(/unknown section 'batching'/);
    expect(() => servingTagsFromConfig([1])).toThrow(/mapping/);
  });

  it('reports a file that is not YAML', async () => {
    const { home, cleanup } = await tempHome();
    try {
      const p = join(home, 'bad.yaml');
      await writeFile(p, 'dynamic_batching: [unclosed');
      await expect(readServingConfigFile(p)).rejects.toMatchObject({ code: 'BERTH_E_BAD_REQUEST' });
      await expect(readServingConfigFile(join(home, 'missing.yaml'))).rejects.toThrow(/cannot read model config/);
    } finally {
      await cleanup();
    }
  });
});
