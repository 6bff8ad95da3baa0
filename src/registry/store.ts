import type { AliasEvent, Model, ModelVersion, NewVersion } from './types.js';

/**
 * Registry metadata storage. One implementation per engine (sqlite/, postgres/: db.ts, schema.ts,
 * store.ts each), all passing test/registry/store-contract.ts. An engine holds only its SQL and
 * driver code; what must not differ between engines is shared: input checks (validate.ts), refusals
 * and alias-stack moves (rules.ts), row mapping (rows.ts), migration bookkeeping (migrations.ts).
 * Every method is async so that network-backed stores fit.
 * Methods throw BerthError: NOT_FOUND for a missing model/version/alias, CONFLICT for a refused change.
 */
export interface RegistryStore {
  /** Creates the model if it does not exist; returns it either way. */
  ensureModel(name: string, description?: string): Promise<Model>;
  getModel(name: string): Promise<Model | undefined>;
  listModels(): Promise<Model[]>;
  setModelDescription(name: string, description: string): Promise<Model>;
  setModelTag(name: string, key: string, value: string): Promise<void>;
  deleteModelTag(name: string, key: string): Promise<void>;
  /** Deletes the model and all its versions and aliases; refused (CONFLICT) while any alias exists. */
  deleteModel(name: string): Promise<void>;

  /** Allocates the next version number (1, 2, 3… per model) atomically; creates the model if needed. */
  createVersion(input: NewVersion): Promise<ModelVersion>;
  getVersion(name: string, version: number): Promise<ModelVersion | undefined>;
  /** Ascending by version. */
  listVersions(name: string): Promise<ModelVersion[]>;
  /** Refused (CONFLICT) while an alias points at it. Version numbers are never reused. */
  deleteVersion(name: string, version: number): Promise<void>;
  setVersionDescription(name: string, version: number, description: string): Promise<ModelVersion>;
  setVersionTag(name: string, version: number, key: string, value: string): Promise<void>;
  deleteVersionTag(name: string, version: number, key: string): Promise<void>;
  /** Metrics may be added after registration (evaluation results); an existing key is overwritten. */
  setVersionMetric(name: string, version: number, key: string, value: number): Promise<void>;
  /**
   * True if any version of any model references this SHA-256, as its artifact or its reference
   * dataset: the registry deletes a blob from the artifact store only when this is false.
   */
  artifactInUse(sha256: string): Promise<boolean>;

  /** Points the alias at the version (which must exist) and records the move in the history. */
  setAlias(name: string, alias: string, version: number, actor?: string | null): Promise<AliasEvent>;
  deleteAlias(name: string, alias: string, actor?: string | null): Promise<AliasEvent>;
  getAlias(name: string, alias: string): Promise<number | undefined>;
  /** Newest first. */
  aliasHistory(name: string, alias?: string): Promise<AliasEvent[]>;
  /**
   * Moves the alias back to the version it pointed to before its current one (history as a stack:
   * each `set` pushes, each rollback pops), skipping versions deleted since. CONFLICT when there is
   * nothing to go back to.
   */
  rollbackAlias(name: string, alias: string, actor?: string | null): Promise<AliasEvent>;

  close(): Promise<void>;
}
