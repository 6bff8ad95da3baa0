import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RegistryStore } from '../../src/registry/index.js';
import { aliasContract } from './store-contract-aliases.js';
import { createVersions, ISO, newVersion, rejection, SIGNATURE, sha } from './store-contract-helpers.js';

/**
 * Registers the RegistryStore contract suite: the behaviour every engine must have. Each engine's
 * test file calls this with a factory that returns a fresh, empty store.
 */
export function registryStoreContract(
  name: string,
  makeStore: () => Promise<{ store: RegistryStore; cleanup(): Promise<void> }>,
): void {
  describe(`RegistryStore contract: ${name}`, () => {
    let store: RegistryStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    const versions = (model: string, n: number): Promise<void> => createVersions(store, model, n);

    describe('models', () => {
      it('creates a model once and returns the existing one afterwards, description untouched', async () => {
        const created = await store.ensureModel('weather', 'first');
        expect(created).toMatchObject({ name: 'weather', description: 'first', tags: {}, aliases: {}, latestVersion: null });
        expect(created.createdAt).toMatch(ISO);
        const again = await store.ensureModel('weather', 'second');
        expect(again.description).toBe('first');
        expect(again.createdAt).toBe(created.createdAt);
      });

      it('returns undefined for an unknown model and lists models by name', async () => {
        expect(await store.getModel('nope')).toBeUndefined();
        await store.ensureModel('zebra');
        await store.ensureModel('alpha');
        await versions('alpha', 2);
        await store.setAlias('alpha', 'champion', 1);
        await store.setModelTag('zebra', 'team', 'ml');
        const models = await store.listModels();
        expect(models.map((m) => m.name)).toEqual(['alpha', 'zebra']);
        expect(models[0]).toMatchObject({ latestVersion: 2, aliases: { champion: 1 }, tags: {} });
        expect(models[1]).toMatchObject({ latestVersion: null, aliases: {}, tags: { team: 'ml' } });
      });

      it('rejects invalid model names with BAD_REQUEST naming the field', async () => {
        for (const bad of ['', '-lead', '.hidden', 'has space', 'a/b', 'x'.repeat(129), 'we:ather', 'we@ather']) {
          const e = await rejection(store.ensureModel(bad), 'BAD_REQUEST');
          expect(e.field).toBe('name');
        }
        await expect(store.ensureModel(`A${'x'.repeat(127)}`)).resolves.toBeDefined();
        await expect(store.ensureModel('v1.2_model-x')).resolves.toBeDefined();
      });

      it('updates the description and tags, and reports a missing model as NOT_FOUND', async () => {
        await store.ensureModel('weather');
        const m = await store.setModelDescription('weather', 'Seattle weather');
        expect(m.description).toBe('Seattle weather');
        await store.setModelTag('weather', 'team', 'ml');
        await store.setModelTag('weather', 'team', 'platform');
        await store.setModelTag('weather', 'tier', '1');
        expect((await store.getModel('weather'))?.tags).toEqual({ team: 'platform', tier: '1' });
        await store.deleteModelTag('weather', 'team');
        await store.deleteModelTag('weather', 'never-set');
        expect((await store.getModel('weather'))?.tags).toEqual({ tier: '1' });

        const e = await rejection(store.setModelDescription('ghost', 'x'), 'NOT_FOUND');
        expect(e.message).toBe("model 'ghost' not found");
        await rejection(store.setModelTag('ghost', 'k', 'v'), 'NOT_FOUND');
        await rejection(store.deleteModelTag('ghost', 'k'), 'NOT_FOUND');
      });

      it('rejects empty and over-long tag keys', async () => {
        await store.ensureModel('weather');
        await rejection(store.setModelTag('weather', '', 'v'), 'BAD_REQUEST');
        await rejection(store.setModelTag('weather', 'k'.repeat(257), 'v'), 'BAD_REQUEST');
        await store.setModelTag('weather', 'k'.repeat(256), 'v');
      });

      it('deletes a model with its versions, refusing while it has aliases', async () => {
        await versions('weather', 2);
        await store.setAlias('weather', 'champion', 2);
        const e = await rejection(store.deleteModel('weather'), 'CONFLICT');
        expect(e.message).toContain('champion');
        await store.deleteAlias('weather', 'champion');
        await store.deleteModel('weather');
        expect(await store.getModel('weather')).toBeUndefined();
        expect(await store.getVersion('weather', 1)).toBeUndefined();
        await rejection(store.deleteModel('weather'), 'NOT_FOUND');
      });
    });

    describe('versions', () => {
      it('numbers versions 1, 2, 3 per model and creates the model on first use', async () => {
        const a = await store.createVersion(newVersion('weather'));
        const b = await store.createVersion(newVersion('weather'));
        const other = await store.createVersion(newVersion('churn'));
        const c = await store.createVersion(newVersion('weather'));
        expect([a.version, b.version, c.version, other.version]).toEqual([1, 2, 3, 1]);
        expect((await store.getModel('weather'))?.latestVersion).toBe(3);
      });

      it('stores every field of a version and returns it unchanged', async () => {
        const reference = {
          sha256: sha('reference'),
          format: 'csv' as const,
          sizeBytes: 99,
          labelColumn: 'weather',
          columns: ['temp', 'weather'],
          rows: 10,
        };
        const input = newVersion('weather', {
          description: 'softmax regression',
          tags: { dataset: 'seattle', 'a.b': 'c' },
          metrics: { accuracy: 0.91, loss: -0.5 },
          source: 'weather.onnx',
          lineage: { run: 'r-17', parent: 'weather:0' },
          reference,
        });
        const created = await store.createVersion(input);
        expect(created).toEqual({
          model: 'weather',
          version: 1,
          sha256: input.sha256,
          sizeBytes: 1234,
          format: 'onnx',
          description: 'softmax regression',
          tags: { dataset: 'seattle', 'a.b': 'c' },
          metrics: { accuracy: 0.91, loss: -0.5 },
          signature: SIGNATURE,
          source: 'weather.onnx',
          lineage: { run: 'r-17', parent: 'weather:0' },
          reference,
          createdAt: expect.stringMatching(ISO),
        });
        expect(await store.getVersion('weather', 1)).toEqual(created);
      });

      it('fills defaults for optional fields', async () => {
        const v = await store.createVersion(newVersion('weather'));
        expect(v).toMatchObject({ description: '', tags: {}, metrics: {}, source: null, lineage: {}, reference: null });
      });

      it('never reuses a deleted version number, not even the newest one', async () => {
        await versions('weather', 3);
        await store.deleteVersion('weather', 3);
        expect((await store.createVersion(newVersion('weather'))).version).toBe(4);
        await store.deleteVersion('weather', 2);
        expect((await store.listVersions('weather')).map((v) => v.version)).toEqual([1, 4]);
        expect((await store.createVersion(newVersion('weather'))).version).toBe(5);
      });

      it('keeps versions immutable: returned objects are copies and metadata edits leave the artifact alone', async () => {
        const v = await store.createVersion(newVersion('weather', { tags: { a: '1' } }));
        v.tags['a'] = 'changed';
        v.signature.inputs[0]!.shape[1] = 99;
        const fresh = await store.getVersion('weather', 1);
        expect(fresh?.tags).toEqual({ a: '1' });
        expect(fresh?.signature).toEqual(SIGNATURE);
        await store.setVersionDescription('weather', 1, 'new words');
        await store.setVersionTag('weather', 1, 'b', '2');
        await store.setVersionMetric('weather', 1, 'auc', 0.8);
        const after = await store.getVersion('weather', 1);
        expect(after).toMatchObject({ sha256: v.sha256, sizeBytes: v.sizeBytes, signature: SIGNATURE, createdAt: v.createdAt });
        // Registering the same bytes again is a new version, not an update of the old one.
        expect((await store.createVersion(newVersion('weather', { sha256: v.sha256 }))).version).toBe(2);
      });

      it('returns undefined for a missing version and NOT_FOUND when listing a missing model', async () => {
        await versions('weather', 1);
        expect(await store.getVersion('weather', 2)).toBeUndefined();
        expect(await store.getVersion('ghost', 1)).toBeUndefined();
        await rejection(store.listVersions('ghost'), 'NOT_FOUND');
        expect(await store.listVersions((await store.ensureModel('empty')).name)).toEqual([]);
      });

      it('lists versions ascending with their own tags and metrics', async () => {
        await versions('weather', 3);
        await store.setVersionTag('weather', 2, 'stage', 'candidate');
        await store.setVersionMetric('weather', 3, 'accuracy', 0.9);
        const list = await store.listVersions('weather');
        expect(list.map((v) => [v.version, v.tags, v.metrics])).toEqual([
          [1, {}, {}],
          [2, { stage: 'candidate' }, {}],
          [3, {}, { accuracy: 0.9 }],
        ]);
      });

      it('edits tags, metrics and description, overwriting an existing metric', async () => {
        await versions('weather', 1);
        expect((await store.setVersionDescription('weather', 1, 'tuned')).description).toBe('tuned');
        await store.setVersionTag('weather', 1, 'stage', 'a');
        await store.setVersionTag('weather', 1, 'stage', 'b');
        await store.setVersionMetric('weather', 1, 'accuracy', 0.5);
        await store.setVersionMetric('weather', 1, 'accuracy', 0.75);
        expect(await store.getVersion('weather', 1)).toMatchObject({ tags: { stage: 'b' }, metrics: { accuracy: 0.75 } });
        await store.deleteVersionTag('weather', 1, 'stage');
        expect((await store.getVersion('weather', 1))?.tags).toEqual({});
      });

      it('reports a missing version by model and number', async () => {
        await versions('weather', 1);
        const cases: Promise<unknown>[] = [
          store.setVersionDescription('weather', 7, 'x'),
          store.setVersionTag('weather', 7, 'k', 'v'),
          store.deleteVersionTag('weather', 7, 'k'),
          store.setVersionMetric('weather', 7, 'k', 1),
          store.deleteVersion('weather', 7),
          store.setAlias('weather', 'champion', 7),
        ];
        // Handlers go on every case at once: a network store may reject one while an earlier one is awaited.
        const rejected = await Promise.all(cases.map((c) => rejection(c, 'NOT_FOUND')));
        for (const e of rejected) expect(e.message).toBe("model 'weather' has no version 7");
        expect((await rejection(store.deleteVersion('ghost', 1), 'NOT_FOUND')).message).toBe("model 'ghost' not found");
      });

      it('refuses bad input to createVersion and to metrics', async () => {
        await rejection(store.createVersion(newVersion('bad name')), 'BAD_REQUEST');
        await rejection(store.createVersion(newVersion('weather', { sha256: 'abc' })), 'BAD_REQUEST');
        await rejection(store.createVersion(newVersion('weather', { sizeBytes: -1 })), 'BAD_REQUEST');
        await rejection(store.createVersion(newVersion('weather', { metrics: { acc: Number.NaN } })), 'BAD_REQUEST');
        await rejection(store.createVersion(newVersion('weather', { tags: { '': 'x' } })), 'BAD_REQUEST');
        expect(await store.getModel('weather')).toBeUndefined();
        await versions('weather', 1);
        for (const v of [Number.POSITIVE_INFINITY, Number.NaN]) {
          const e = await rejection(store.setVersionMetric('weather', 1, 'acc', v), 'BAD_REQUEST');
          expect(e.message).toContain('finite');
        }
        await rejection(store.setVersionTag('weather', 1, '', 'v'), 'BAD_REQUEST');
        expect((await store.getVersion('weather', 1))?.metrics).toEqual({});
      });

      it('refuses to delete an aliased version, then deletes it with its tags and metrics', async () => {
        await versions('weather', 2);
        await store.setVersionTag('weather', 2, 'k', 'v');
        await store.setVersionMetric('weather', 2, 'm', 1);
        await store.setAlias('weather', 'champion', 2);
        const e = await rejection(store.deleteVersion('weather', 2), 'CONFLICT');
        expect(e.message).toBe("version 2 of 'weather' is aliased as champion; move or delete the alias first");
        await store.setAlias('weather', 'champion', 1);
        await store.deleteVersion('weather', 2);
        expect(await store.getVersion('weather', 2)).toBeUndefined();
        expect((await store.getModel('weather'))?.latestVersion).toBe(1);
      });

      it('tells whether a blob is referenced, as an artifact or a reference dataset', async () => {
        const artifact = sha('artifact');
        const reference = sha('reference-blob');
        const ref = { sha256: reference, format: 'csv' as const, sizeBytes: 1, labelColumn: null, columns: ['a'], rows: 1 };
        await store.createVersion(newVersion('weather', { sha256: artifact, reference: ref }));
        await store.createVersion(newVersion('churn', { sha256: artifact }));
        expect(await store.artifactInUse(artifact)).toBe(true);
        expect(await store.artifactInUse(reference)).toBe(true);
        expect(await store.artifactInUse(sha('unknown'))).toBe(false);
        await store.deleteVersion('weather', 1);
        expect(await store.artifactInUse(reference)).toBe(false);
        expect(await store.artifactInUse(artifact)).toBe(true);
        await store.deleteVersion('churn', 1);
        expect(await store.artifactInUse(artifact)).toBe(false);
      });

      it('gives 20 concurrent createVersion calls 20 distinct consecutive numbers', async () => {
        const created = await Promise.all(Array.from({ length: 20 }, () => store.createVersion(newVersion('weather'))));
        expect(created.map((v) => v.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(new Set(created.map((v) => v.sha256)).size).toBe(20);
        expect((await store.listVersions('weather')).length).toBe(20);
      });
    });

    aliasContract(() => store);
  });
}
