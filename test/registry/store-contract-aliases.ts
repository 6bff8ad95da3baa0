import { beforeEach, describe, expect, it } from 'vitest';
import type { RegistryStore } from '../../src/registry/index.js';
import { createVersions, ISO, rejection } from './store-contract-helpers.js';

/** The alias half of the RegistryStore contract; `current` returns the store of the running test. */
export function aliasContract(current: () => RegistryStore): void {
  describe('aliases', () => {
    let store: RegistryStore;
    // Runs after the enclosing suite's beforeEach has opened a fresh store.
    beforeEach(() => {
      store = current();
    });
    const versions = (model: string, n: number): Promise<void> => createVersions(store, model, n);

    it('points an alias at a version and records who moved it', async () => {
      await versions('weather', 2);
      const first = await store.setAlias('weather', 'champion', 1, 'alice');
      expect(first).toEqual({
        id: expect.any(Number),
        model: 'weather',
        alias: 'champion',
        version: 1,
        previousVersion: null,
        action: 'set',
        actor: 'alice',
        at: expect.stringMatching(ISO),
      });
      const second = await store.setAlias('weather', 'champion', 2);
      expect(second).toMatchObject({ version: 2, previousVersion: 1, action: 'set', actor: null });
      expect(second.id).toBeGreaterThan(first.id);
      expect(await store.getAlias('weather', 'champion')).toBe(2);
      expect((await store.getModel('weather'))?.aliases).toEqual({ champion: 2 });
      expect(await store.getAlias('weather', 'staging')).toBeUndefined();
      expect(await store.getAlias('ghost', 'champion')).toBeUndefined();
    });

    it('rejects alias names that are malformed or look like numbers', async () => {
      await versions('weather', 1);
      for (const bad of ['', '7', '1e3', 'Infinity', 'NaN', '-x', '_x', 'has space', 'a'.repeat(65), 'a.b']) {
        const e = await rejection(store.setAlias('weather', bad, 1), 'BAD_REQUEST');
        expect(e.field).toBe('alias');
      }
      await store.setAlias('weather', 'v2-candidate_B', 1);
      await store.setAlias('weather', 'a'.repeat(64), 1);
    });

    it('deletes an alias and records the removal', async () => {
      await versions('weather', 1);
      await store.setAlias('weather', 'champion', 1);
      const e = await store.deleteAlias('weather', 'champion', 'bob');
      expect(e).toMatchObject({ alias: 'champion', version: null, previousVersion: 1, action: 'delete', actor: 'bob' });
      expect(await store.getAlias('weather', 'champion')).toBeUndefined();
      const missing = await rejection(store.deleteAlias('weather', 'champion'), 'NOT_FOUND');
      expect(missing.message).toBe("model 'weather' has no alias 'champion'");
      await rejection(store.deleteAlias('ghost', 'champion'), 'NOT_FOUND');
    });

    it('returns the history newest first, for one alias or all of them', async () => {
      await versions('weather', 3);
      await store.setAlias('weather', 'champion', 1);
      await store.setAlias('weather', 'challenger', 2);
      await store.setAlias('weather', 'champion', 3);
      await store.rollbackAlias('weather', 'champion');
      await store.deleteAlias('weather', 'challenger');
      const all = await store.aliasHistory('weather');
      expect(all.map((e) => [e.alias, e.action, e.version, e.previousVersion])).toEqual([
        ['challenger', 'delete', null, 2],
        ['champion', 'rollback', 1, 3],
        ['champion', 'set', 3, 1],
        ['challenger', 'set', 2, null],
        ['champion', 'set', 1, null],
      ]);
      const champion = await store.aliasHistory('weather', 'champion');
      expect(champion.map((e) => e.action)).toEqual(['rollback', 'set', 'set']);
      expect(await store.aliasHistory('weather', 'nothing')).toEqual([]);
      await rejection(store.aliasHistory('ghost'), 'NOT_FOUND');
    });

    it('rolls back as a stack: each set pushes, each rollback pops', async () => {
      await versions('weather', 3);
      for (const v of [1, 2, 3]) await store.setAlias('weather', 'champion', v);
      const r1 = await store.rollbackAlias('weather', 'champion', 'carol');
      expect(r1).toMatchObject({ action: 'rollback', version: 2, previousVersion: 3, actor: 'carol' });
      expect((await store.rollbackAlias('weather', 'champion')).version).toBe(1);
      expect(await store.getAlias('weather', 'champion')).toBe(1);
      const e = await rejection(store.rollbackAlias('weather', 'champion'), 'CONFLICT');
      expect(e.message).toBe("alias 'champion' of 'weather' has no earlier version to roll back to");
      expect(await store.getAlias('weather', 'champion')).toBe(1);
    });

    it('does not push when an alias is set to the version it already has', async () => {
      await versions('weather', 2);
      await store.setAlias('weather', 'champion', 1);
      await store.setAlias('weather', 'champion', 2);
      await store.setAlias('weather', 'champion', 2);
      expect((await store.rollbackAlias('weather', 'champion')).version).toBe(1);
    });

    it('pushes again after a rollback when the alias moves forward', async () => {
      await versions('weather', 3);
      await store.setAlias('weather', 'champion', 1);
      await store.setAlias('weather', 'champion', 2);
      await store.rollbackAlias('weather', 'champion');
      await store.setAlias('weather', 'champion', 3);
      expect((await store.rollbackAlias('weather', 'champion')).version).toBe(1);
      await rejection(store.rollbackAlias('weather', 'champion'), 'CONFLICT');
    });

    it('skips versions deleted since they were aliased', async () => {
      await versions('weather', 4);
      for (const v of [1, 2, 3, 4]) await store.setAlias('weather', 'champion', v);
      await store.deleteVersion('weather', 3);
      await store.deleteVersion('weather', 2);
      const e = await store.rollbackAlias('weather', 'champion');
      expect(e).toMatchObject({ version: 1, previousVersion: 4 });
    });

    it('refuses a rollback when every earlier version has been deleted', async () => {
      await versions('weather', 2);
      await store.setAlias('weather', 'champion', 1);
      await store.setAlias('weather', 'champion', 2);
      await store.deleteVersion('weather', 1);
      await rejection(store.rollbackAlias('weather', 'champion'), 'CONFLICT');
      expect(await store.getAlias('weather', 'champion')).toBe(2);
    });

    it('forgets the stack when the alias is deleted', async () => {
      await versions('weather', 3);
      await store.setAlias('weather', 'champion', 1);
      await store.setAlias('weather', 'champion', 2);
      await store.deleteAlias('weather', 'champion');
      await store.setAlias('weather', 'champion', 3);
      await rejection(store.rollbackAlias('weather', 'champion'), 'CONFLICT');
    });

    it('keeps each alias its own stack', async () => {
      await versions('weather', 3);
      await store.setAlias('weather', 'champion', 1);
      await store.setAlias('weather', 'challenger', 2);
      await store.setAlias('weather', 'challenger', 3);
      await store.setAlias('weather', 'champion', 2);
      expect((await store.rollbackAlias('weather', 'challenger')).version).toBe(2);
      expect((await store.rollbackAlias('weather', 'champion')).version).toBe(1);
    });

    it('reports rolling back a missing alias or model as NOT_FOUND', async () => {
      await versions('weather', 1);
      expect((await rejection(store.rollbackAlias('weather', 'champion'), 'NOT_FOUND')).message).toBe(
        "model 'weather' has no alias 'champion'",
      );
      await rejection(store.rollbackAlias('ghost', 'champion'), 'NOT_FOUND');
      await rejection(store.setAlias('ghost', 'champion', 1), 'NOT_FOUND');
    });
  });
}
