import { join } from 'node:path';
import { errors } from '../../errors.js';
import { RedisOnlineStore } from './redis.js';
import { SqliteOnlineStore } from './sqlite.js';
import type { OnlineStore } from './store.js';

export { RedisOnlineStore } from './redis.js';
export { SqliteOnlineStore } from './sqlite.js';
export { entityKey, type OnlineKey, type OnlineRecord, type OnlineStore, type OnlineWrite } from './store.js';

/**
 * Opens the online store a URI names: `sqlite://PATH` (default `<home>/online.db`) or
 * `redis://HOST:PORT[/DB]` (with `?prefix=NAME` to share one Redis between repos).
 */
export function openOnlineStore(uri: string | undefined, home: string): OnlineStore {
  if (uri === undefined || uri === '') return new SqliteOnlineStore(join(home, 'online.db'));
  if (uri === 'sqlite::memory:') return new SqliteOnlineStore(':memory:');
  if (uri.startsWith('sqlite://')) return new SqliteOnlineStore(uri.slice('sqlite://'.length));
  if (uri.startsWith('redis://') || uri.startsWith('rediss://')) {
    const u = new URL(uri);
    const prefix = u.searchParams.get('prefix') ?? 'berth';
    u.search = '';
    return new RedisOnlineStore(u.toString(), prefix);
  }
  throw errors.badRequest(`unsupported online store URI '${uri}' (available: sqlite://PATH, redis://HOST:PORT)`, 'online_store');
}
