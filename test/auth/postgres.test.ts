import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PostgresTokenStore, SqliteTokenStore, type TokenStore, Tokens } from '../../src/auth/index.js';
import type { ApiToken } from '../../src/auth/index.js';
import { freshSchemas, openOnFreshSchema, postgresUrl, reportPostgresSkipped } from '../postgres.js';

const fresh = freshSchemas();

const token = (id: string, createdAt: string, extra: Partial<ApiToken> = {}): ApiToken => ({
  id,
  name: `${id}-name`,
  role: 'read',
  prefix: `berth_${id}`,
  createdAt,
  revokedAt: null,
  ...extra,
});

/** The TokenStore behaviour both engines share; run below against SQLite and PostgreSQL. */
function tokenStoreContract(name: string, open: () => Promise<{ store: TokenStore; cleanup(): Promise<void> }>): void {
  describe(`TokenStore contract: ${name}`, () => {
    let store: TokenStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => cleanup());

    it('finds a token by its hash and lists newest first, revoked ones included', async () => {
      await store.insert(token('a', '2026-01-01T00:00:00.000Z'), 'hash-a');
      await store.insert(token('b', '2026-01-02T00:00:00.000Z', { role: 'admin' }), 'hash-b');
      expect(await store.findByHash('hash-b')).toEqual(token('b', '2026-01-02T00:00:00.000Z', { role: 'admin' }));
      expect(await store.findByHash('nope')).toBeUndefined();
      await store.revoke('a');
      expect((await store.list()).map((t) => [t.id, t.revokedAt === null])).toEqual([
        ['b', true],
        ['a', false],
      ]);
    });

    it('keeps the first revocation time and reports an unknown id as NOT_FOUND', async () => {
      await store.insert(token('a', '2026-01-01T00:00:00.000Z'), 'hash-a');
      expect(await store.countActive()).toBe(1);
      const first = await store.revoke('a');
      expect(first.revokedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      await new Promise((r) => setTimeout(r, 5));
      expect((await store.revoke('a')).revokedAt).toBe(first.revokedAt);
      expect(await store.countActive()).toBe(0);
      await expect(store.revoke('ghost')).rejects.toMatchObject({ kind: 'NOT_FOUND', message: "no token with id 'ghost'" });
    });

    it('backs Tokens: issue, authorize by role, revoke', async () => {
      const tokens = new Tokens(store);
      expect(await tokens.any()).toBe(false);
      const { secret, token: t } = await tokens.create('deploy', 'ci');
      expect(await tokens.any()).toBe(true);
      expect((await tokens.authorize(secret, 'read')).id).toBe(t.id);
      await expect(tokens.authorize(secret, 'admin')).rejects.toMatchObject({ kind: 'FORBIDDEN' });
      await tokens.revoke(t.id);
      await expect(tokens.authorize(secret, 'read')).rejects.toMatchObject({ kind: 'UNAUTHENTICATED' });
    });
  });
}

tokenStoreContract('sqlite', async () => {
  const store = new SqliteTokenStore(':memory:');
  return { store, cleanup: () => store.close() };
});

if (postgresUrl) tokenStoreContract('postgres', () => openOnFreshSchema((uri) => PostgresTokenStore.open(uri)));
else reportPostgresSkipped('TokenStore contract: postgres');

describe.skipIf(!postgresUrl)('PostgresTokenStore', () => {
  it('sees tokens written by another server on the same schema, and refuses a duplicate hash', async () => {
    const { uri } = fresh();
    const [a, b] = await Promise.all([PostgresTokenStore.open(uri), PostgresTokenStore.open(uri)]);
    try {
      await a.insert(token('a', '2026-01-01T00:00:00.000Z'), 'hash-a');
      expect((await b.findByHash('hash-a'))?.id).toBe('a');
      await expect(b.insert(token('c', '2026-01-01T00:00:00.000Z'), 'hash-a')).rejects.toMatchObject({
        kind: 'CONFLICT',
      });
      await b.revoke('a');
      expect(await a.countActive()).toBe(0);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
