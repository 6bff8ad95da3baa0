import { describe, expect, it } from 'vitest';
import { openRegistryStore, PostgresRegistryStore } from '../../src/registry/index.js';
import { adminQuery, freshSchemas, openOnFreshSchema, postgresUrl, reportPostgresSkipped, withSchema } from '../postgres.js';
import { registryStoreContract } from './store-contract.js';
import { newVersion, rejection } from './store-contract-helpers.js';

/** A fresh schema and the URI naming it, dropped after the file. */
const fresh = freshSchemas();

if (postgresUrl) registryStoreContract('postgres', () => openOnFreshSchema((uri) => PostgresRegistryStore.open(uri)));
else reportPostgresSkipped('RegistryStore contract: postgres');

describe.skipIf(!postgresUrl)('PostgresRegistryStore shared by two servers', () => {
  it('gives versions registered through two stores at once distinct consecutive numbers', async () => {
    const { uri } = fresh();
    const [a, b] = await Promise.all([PostgresRegistryStore.open(uri), PostgresRegistryStore.open(uri)]);
    try {
      // The model does not exist yet: both stores also race to create it.
      const calls = Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? a : b).createVersion(newVersion('weather', { tags: { via: i % 2 === 0 ? 'a' : 'b' } })),
      );
      const created = await Promise.all(calls);
      const numbers = created.map((v) => v.version).sort((x, y) => x - y);
      expect(numbers).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      const listed = await b.listVersions('weather');
      expect(listed.map((v) => v.version)).toEqual(numbers);
      expect(new Set(listed.map((v) => v.tags['via']))).toEqual(new Set(['a', 'b']));
      expect((await a.listModels()).map((m) => m.name)).toEqual(['weather']);
      expect((await a.createVersion(newVersion('weather'))).version).toBe(41);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('keeps one alias stack consistent when two stores move the alias at once', async () => {
    const { uri } = fresh();
    const [a, b] = await Promise.all([PostgresRegistryStore.open(uri), PostgresRegistryStore.open(uri)]);
    try {
      for (let i = 0; i < 6; i++) await a.createVersion(newVersion('weather'));
      await Promise.all([1, 2, 3, 4, 5, 6].map((v) => (v % 2 === 0 ? a : b).setAlias('weather', 'champion', v)));
      const history = await a.aliasHistory('weather', 'champion');
      expect(history).toHaveLength(6);
      // Each event's previousVersion is the version the one before it set: no move was lost.
      const chronological = [...history].reverse();
      for (let i = 1; i < chronological.length; i++) {
        expect(chronological[i]!.previousVersion).toBe(chronological[i - 1]!.version);
      }
      const current = await b.getAlias('weather', 'champion');
      expect(current).toBe(chronological[5]!.version);
      // Rolling back walks the same history backwards.
      expect((await b.rollbackAlias('weather', 'champion')).version).toBe(chronological[4]!.version);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('creates the schema once when several servers open a new one at the same time', async () => {
    const { schema, uri } = fresh();
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresRegistryStore.open(uri)));
    expect(stores.map((s) => s.schemaVersion)).toEqual([1, 1, 1, 1]);
    for (const s of stores) await s.close();
    const rows = await adminQuery<{ version: number }>(`SELECT version FROM "${schema}".schema_version`);
    expect(rows.map((r) => r.version)).toEqual([1]);
  });
});

describe.skipIf(!postgresUrl)('PostgresRegistryStore schema', () => {
  it('records the schema version and reopens without migrating again', async () => {
    const { schema, uri } = fresh();
    const store = await PostgresRegistryStore.open(uri);
    expect(store.schemaVersion).toBe(1);
    const created = await store.createVersion(newVersion('weather'));
    await store.close();
    const reopened = await PostgresRegistryStore.open(uri);
    expect(await reopened.getVersion('weather', 1)).toEqual(created);
    await reopened.close();
    expect(await adminQuery(`SELECT version FROM "${schema}".schema_version`)).toEqual([{ version: 1 }]);
  });

  it('refuses a schema written by a newer Berth', async () => {
    const { schema, uri } = fresh();
    await (await PostgresRegistryStore.open(uri)).close();
    await adminQuery(`INSERT INTO "${schema}".schema_version (version, applied_at) VALUES (99, now())`);
    await expect(PostgresRegistryStore.open(uri)).rejects.toThrow(/schema version 99 is newer/);
  });

  it('refuses, in the database itself, to delete a version an alias points at', async () => {
    const { schema, uri } = fresh();
    const store = await PostgresRegistryStore.open(uri);
    await store.createVersion(newVersion('weather'));
    await store.setAlias('weather', 'champion', 1);
    await store.close();
    await expect(adminQuery(`DELETE FROM "${schema}".versions WHERE version = 1`)).rejects.toThrow(/foreign key/);
  });
});

describe.skipIf(!postgresUrl)('openRegistryStore with a postgres URI', () => {
  it('opens postgres:// and postgresql:// URIs, each in the schema it names', async () => {
    const first = fresh().uri;
    const a = await openRegistryStore(first);
    expect(a).toBeInstanceOf(PostgresRegistryStore);
    await a.ensureModel('weather');
    const second = fresh().uri.replace(/^postgres:/, 'postgresql:');
    const b = await openRegistryStore(second);
    expect(await b.listModels()).toEqual([]);
    await b.ensureModel('churn');
    expect((await a.listModels()).map((m) => m.name)).toEqual(['weather']);
    await a.close();
    await b.close();
  });

  it("also takes libpq's options=-csearch_path=NAME for a schema that exists", async () => {
    const { schema } = fresh();
    await adminQuery(`CREATE SCHEMA "${schema}"`);
    const u = new URL(postgresUrl!);
    u.searchParams.set('options', `-csearch_path=${schema}`);
    const store = await openRegistryStore(u.toString());
    await store.ensureModel('weather');
    await store.close();
    expect(await adminQuery(`SELECT name FROM "${schema}".models`)).toEqual([{ name: 'weather' }]);
  });

  it('rejects a schema name that is not a plain identifier', async () => {
    const e = await rejection(openRegistryStore(withSchema(postgresUrl!, 'bad;name')), 'BAD_REQUEST');
    expect(e.field).toBe('store');
    await rejection(openRegistryStore(withSchema(postgresUrl!, 'Upper')), 'BAD_REQUEST');
  });
});

describe('openRegistryStore with an unreachable postgres server', () => {
  it('fails with NOT_READY rather than hanging', async () => {
    // Port 1 on loopback refuses the connection at once.
    const e = await rejection(openRegistryStore('postgres://berth@127.0.0.1:1/berth?schema=x'), 'NOT_READY');
    expect(e.message).toContain('PostgreSQL is unavailable');
  });
});
