import { errors } from '../errors.js';
import { isPostgresUri } from '../postgres.js';
import { PostgresRegistryStore } from './postgres/store.js';
import { SqliteRegistryStore } from './sqlite/store.js';
import type { RegistryStore } from './store.js';

export type { ArtifactStore } from './artifacts/store.js';
export { LocalArtifactStore } from './artifacts/local.js';
export { inspectReference, type ReferenceInfo } from './reference.js';
export {
  DEFAULT_ALIAS,
  formatModelRef,
  type ModelInspector,
  type ModelRef,
  parseModelRef,
  type RegisterOptions,
  Registry,
} from './registry.js';
export { PostgresRegistryStore, type PostgresStoreOptions } from './postgres/store.js';
export { SqliteRegistryStore, type SqliteStoreOptions } from './sqlite/store.js';
export type { RegistryStore } from './store.js';
export type { AliasEvent, Model, ModelVersion, NewVersion, ReferenceDataset } from './types.js';
export { validateAliasName, validateModelName } from './validate.js';

/**
 * Opens the registry metadata store a URI names: `sqlite://<path>` (relative to the working
 * directory, `sqlite:///abs/path` for absolute) or `sqlite::memory:`; or PostgreSQL:
 * `postgres://user:pass@host:5432/db[?schema=NAME]` (also `postgresql://`), schema created if missing.
 */
export async function openRegistryStore(uri: string): Promise<RegistryStore> {
  if (uri === 'sqlite::memory:' || uri === 'sqlite://:memory:') return new SqliteRegistryStore(':memory:');
  if (uri.startsWith('sqlite://')) {
    const path = uri.slice('sqlite://'.length);
    if (path === '') throw errors.badRequest(`store URI '${uri}' has no path (e.g. sqlite://./berth.db)`, 'store');
    return new SqliteRegistryStore(path);
  }
  if (isPostgresUri(uri)) return PostgresRegistryStore.open(uri);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1];
  if (scheme === undefined) {
    throw errors.badRequest(`store URI '${uri}' has no scheme (e.g. sqlite://./berth.db)`, 'store');
  }
  throw errors.badRequest(`unsupported store URI scheme '${scheme}:' (available: sqlite, postgres)`, 'store');
}
