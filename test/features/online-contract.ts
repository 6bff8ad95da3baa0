import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OnlineStore } from '../../src/features/index.js';

/** The behaviour every OnlineStore implementation must have; run once per implementation. */
export function onlineStoreContract(name: string, open: () => Promise<OnlineStore>, cleanup: (s: OnlineStore) => Promise<void> = async () => {}): void {
  describe(`online store contract: ${name}`, () => {
    let store: OnlineStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
      await cleanup(store);
      await store.close();
    });

    it('reads back what was written, undefined where nothing is, in the order asked', async () => {
      await store.write([
        { view: 'v', key: '1', eventTs: 1000, createdTs: 0, values: '[1,"a"]' },
        { view: 'v', key: '2', eventTs: 2000, createdTs: 5, values: '[2,"b|c ü"]' },
      ]);
      const got = await store.read([
        { view: 'v', key: '2' },
        { view: 'v', key: 'missing' },
        { view: 'v', key: '1' },
        { view: 'other', key: '1' },
        { view: 'v', key: '2' },
      ]);
      expect(got).toEqual([
        { eventTs: 2000, createdTs: 5, values: '[2,"b|c ü"]' },
        undefined,
        { eventTs: 1000, createdTs: 0, values: '[1,"a"]' },
        undefined,
        { eventTs: 2000, createdTs: 5, values: '[2,"b|c ü"]' },
      ]);
      expect(await store.read([])).toEqual([]);
    });

    it('keeps the newer record: later event time, or same event time and created at least as late', async () => {
      const at = async () => (await store.read([{ view: 'n', key: 'k' }]))[0]?.values;
      await store.write([{ view: 'n', key: 'k', eventTs: 5000, createdTs: 10, values: '["first"]' }]);
      await store.write([{ view: 'n', key: 'k', eventTs: 4000, createdTs: 99, values: '["older event"]' }]);
      expect(await at()).toBe('["first"]');
      await store.write([{ view: 'n', key: 'k', eventTs: 5000, createdTs: 9, values: '["older created"]' }]);
      expect(await at()).toBe('["first"]');
      await store.write([{ view: 'n', key: 'k', eventTs: 5000, createdTs: 11, values: '["newer created"]' }]);
      expect(await at()).toBe('["newer created"]');
      await store.write([{ view: 'n', key: 'k', eventTs: 6000, createdTs: 0, values: '["newer event"]' }]);
      expect(await at()).toBe('["newer event"]');
      // within one batch too
      await store.write([
        { view: 'n', key: 'b', eventTs: 2, createdTs: 0, values: '[2]' },
        { view: 'n', key: 'b', eventTs: 1, createdTs: 0, values: '[1]' },
      ]);
      expect((await store.read([{ view: 'n', key: 'b' }]))[0]?.values).toBe('[2]');
    });

    it('writes and reads large batches', async () => {
      const n = 5000;
      const recs = Array.from({ length: n }, (_, i) => ({ view: 'big', key: `e${i}`, eventTs: 1_700_000_000_000 + i, createdTs: i, values: `[${i}]` }));
      await store.write(recs);
      const got = await store.read(recs.map((r) => ({ view: r.view, key: r.key })));
      expect(got.map((g) => g?.values)).toEqual(recs.map((r) => r.values));
      expect(got[n - 1]?.eventTs).toBe(1_700_000_000_000 + n - 1);
    });

    it('deletes one view and leaves the others', async () => {
      await store.write([
        { view: 'gone', key: '1', eventTs: 1, createdTs: 0, values: '[1]' },
        { view: 'kept', key: '1', eventTs: 1, createdTs: 0, values: '[1]' },
      ]);
      await store.deleteView('gone');
      const got = await store.read([
        { view: 'gone', key: '1' },
        { view: 'kept', key: '1' },
      ]);
      expect(got[0]).toBeUndefined();
      expect(got[1]?.values).toBe('[1]');
    });
  });
}
