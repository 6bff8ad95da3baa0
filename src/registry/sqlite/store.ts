import { type AliasEventRow, type ModelRow, newVersionValues, rollbackStack, toAliasEvent } from '../rows.js';
import { refuseModelDelete, refuseVersionDelete, rollbackTarget, stackAfterSet } from '../rules.js';
import type { RegistryStore } from '../store.js';
import type { AliasEvent, Model, ModelVersion, NewVersion } from '../types.js';
import { validateAliasTarget, validateMetric, validateModelName, validateNewVersion, validateTag } from '../validate.js';
import { now, RegistryDb } from './db.js';

export interface SqliteStoreOptions {
  /** How long a write waits for another process's write lock before failing (default 5000 ms). */
  busyTimeoutMs?: number;
}

/**
 * RegistryStore on SQLite (better-sqlite3). The driver is synchronous; each method does its work
 * synchronously inside an async function, which keeps every multi-statement change in one real
 * transaction and needs no connection pool. The interface is async for network stores.
 *
 * Durability: WAL with synchronous=NORMAL. A commit appends to the WAL with write(2) before it
 * returns, so the data is in the OS page cache and survives the process being killed (kill -9);
 * only an OS crash or power loss can drop the last few commits, and even then the database stays
 * consistent (WAL frames are checksummed and replayed only up to the last complete commit).
 * FULL would add an fsync per commit to guard against power loss, which a registry that can
 * re-register does not need.
 */
export class SqliteRegistryStore implements RegistryStore {
  private readonly db: RegistryDb;

  /** Opens (creating if needed, with parent directories) the database at `path`, or ':memory:'. */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.db = new RegistryDb(path, options.busyTimeoutMs ?? 5000);
  }

  /** Opens a store; the async twin of the constructor, for symmetry with network stores. */
  static async open(path: string, options?: SqliteStoreOptions): Promise<SqliteRegistryStore> {
    return new SqliteRegistryStore(path, options);
  }

  /** The absolute path of the database file, or ':memory:'. */
  get path(): string {
    return this.db.path;
  }

  /** The schema version the database is at after opening. */
  get schemaVersion(): number {
    return this.db.schemaVersion;
  }

  // ---- models ----

  async ensureModel(name: string, description = ''): Promise<Model> {
    validateModelName(name);
    return this.db.tx(() => this.db.loadModel(this.insertModel(name, description)));
  }

  async getModel(name: string): Promise<Model | undefined> {
    const row = this.db.findModel(name);
    return row === undefined ? undefined : this.db.loadModel(row);
  }

  async listModels(): Promise<Model[]> {
    return this.db.listModels();
  }

  async setModelDescription(name: string, description: string): Promise<Model> {
    return this.db.tx(() => {
      const model = this.db.requireModel(name);
      this.db.q('UPDATE models SET description = ?, updated_at = ? WHERE id = ?').run(description, now(), model.id);
      return this.db.loadModel(this.db.requireModel(name));
    });
  }

  async setModelTag(name: string, key: string, value: string): Promise<void> {
    validateTag(key, value);
    this.db.tx(() => {
      const model = this.db.requireModel(name);
      this.db
        .q(
          `INSERT INTO model_tags (model_id, key, value) VALUES (?, ?, ?)
           ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value`,
        )
        .run(model.id, key, value);
      this.db.touch(model.id);
    });
  }

  async deleteModelTag(name: string, key: string): Promise<void> {
    this.db.tx(() => {
      const model = this.db.requireModel(name);
      if (this.db.q('DELETE FROM model_tags WHERE model_id = ? AND key = ?').run(model.id, key).changes > 0) {
        this.db.touch(model.id);
      }
    });
  }

  async deleteModel(name: string): Promise<void> {
    this.db.tx(() => {
      const model = this.db.requireModel(name);
      refuseModelDelete(name, this.db.aliasNames(model.id));
      this.db.q('DELETE FROM models WHERE id = ?').run(model.id);
    });
  }

  // ---- versions ----

  async createVersion(input: NewVersion): Promise<ModelVersion> {
    validateNewVersion(input);
    return this.db.tx(() => {
      const model = this.insertModel(input.model, '');
      // next_version is the source of truth; max()+1 only guards against a hand-edited database.
      const version = Math.max(model.next_version, (this.db.latestVersion(model.id) ?? 0) + 1);
      const at = now();
      this.db
        .q(
          `INSERT INTO versions (model_id, version, sha256, size_bytes, format, description, signature,
             source, lineage, reference, reference_sha256, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(...newVersionValues(model.id, version, input, at));
      this.db.q('UPDATE models SET next_version = ?, updated_at = ? WHERE id = ?').run(version + 1, at, model.id);
      this.db.setVersionValues('version_tags', model.id, version, input.tags ?? {});
      this.db.setVersionValues('version_metrics', model.id, version, input.metrics ?? {});
      return this.db.loadVersion(model, version)!;
    });
  }

  async getVersion(name: string, version: number): Promise<ModelVersion | undefined> {
    const model = this.db.findModel(name);
    return model === undefined ? undefined : this.db.loadVersion(model, version);
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    return this.db.loadVersions(this.db.requireModel(name));
  }

  async deleteVersion(name: string, version: number): Promise<void> {
    this.db.tx(() => {
      const model = this.db.requireVersion(name, version);
      refuseVersionDelete(name, version, this.db.aliasNames(model.id, version));
      this.db.q('DELETE FROM versions WHERE model_id = ? AND version = ?').run(model.id, version);
      this.db.touch(model.id);
    });
  }

  async setVersionDescription(name: string, version: number, description: string): Promise<ModelVersion> {
    return this.db.tx(() => {
      const model = this.db.requireVersion(name, version);
      this.db
        .q('UPDATE versions SET description = ? WHERE model_id = ? AND version = ?')
        .run(description, model.id, version);
      return this.db.loadVersion(model, version)!;
    });
  }

  async setVersionTag(name: string, version: number, key: string, value: string): Promise<void> {
    validateTag(key, value);
    this.db.tx(() => {
      const model = this.db.requireVersion(name, version);
      this.db.setVersionValues('version_tags', model.id, version, { [key]: value });
    });
  }

  async deleteVersionTag(name: string, version: number, key: string): Promise<void> {
    this.db.tx(() => {
      const model = this.db.requireVersion(name, version);
      this.db.q('DELETE FROM version_tags WHERE model_id = ? AND version = ? AND key = ?').run(model.id, version, key);
    });
  }

  async setVersionMetric(name: string, version: number, key: string, value: number): Promise<void> {
    validateMetric(key, value);
    this.db.tx(() => {
      const model = this.db.requireVersion(name, version);
      this.db.setVersionValues('version_metrics', model.id, version, { [key]: value });
    });
  }

  async artifactInUse(sha256: string): Promise<boolean> {
    const hit = this.db.q('SELECT 1 FROM versions WHERE sha256 = ? OR reference_sha256 = ? LIMIT 1').get(sha256, sha256);
    return hit !== undefined;
  }

  // ---- aliases ----

  async setAlias(name: string, alias: string, version: number, actor: string | null = null): Promise<AliasEvent> {
    validateAliasTarget(alias, version);
    return this.db.tx(() => {
      const model = this.db.requireVersion(name, version);
      const current = this.db.findAlias(model.id, alias);
      const stack = stackAfterSet(current, version);
      this.db
        .q(
          `INSERT INTO aliases (model_id, alias, version, previous, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (model_id, alias) DO UPDATE
             SET version = excluded.version, previous = excluded.previous, updated_at = excluded.updated_at`,
        )
        .run(model.id, alias, version, JSON.stringify(stack), now());
      return this.db.recordAliasEvent(model, alias, version, current?.version ?? null, 'set', actor);
    });
  }

  async deleteAlias(name: string, alias: string, actor: string | null = null): Promise<AliasEvent> {
    return this.db.tx(() => {
      const model = this.db.requireModel(name);
      const current = this.db.requireAlias(model, alias);
      this.db.q('DELETE FROM aliases WHERE model_id = ? AND alias = ?').run(model.id, alias);
      return this.db.recordAliasEvent(model, alias, null, current.version, 'delete', actor);
    });
  }

  async getAlias(name: string, alias: string): Promise<number | undefined> {
    const model = this.db.findModel(name);
    return model === undefined ? undefined : this.db.findAlias(model.id, alias)?.version;
  }

  async aliasHistory(name: string, alias?: string): Promise<AliasEvent[]> {
    const model = this.db.requireModel(name);
    const rows = (
      alias === undefined
        ? this.db.q('SELECT * FROM alias_history WHERE model_id = ? ORDER BY id DESC').all(model.id)
        : this.db
            .q('SELECT * FROM alias_history WHERE model_id = ? AND alias = ? ORDER BY id DESC')
            .all(model.id, alias)
    ) as AliasEventRow[];
    return rows.map((r) => toAliasEvent(name, r));
  }

  async rollbackAlias(name: string, alias: string, actor: string | null = null): Promise<AliasEvent> {
    return this.db.tx(() => {
      const model = this.db.requireModel(name);
      const current = this.db.requireAlias(model, alias);
      const previous = this.db.existingVersions(model.id, rollbackStack(current));
      const { target, stack } = rollbackTarget(name, current, previous);
      this.db
        .q('UPDATE aliases SET version = ?, previous = ?, updated_at = ? WHERE model_id = ? AND alias = ?')
        .run(target, JSON.stringify(stack), now(), model.id, alias);
      return this.db.recordAliasEvent(model, alias, target, current.version, 'rollback', actor);
    });
  }

  async close(): Promise<void> {
    this.db.close();
  }

  /** Inserts the model unless it exists; returns its row. Call inside a transaction. */
  private insertModel(name: string, description: string): ModelRow {
    const at = now();
    this.db
      .q(
        `INSERT INTO models (name, description, created_at, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO NOTHING`,
      )
      .run(name, description, at, at);
    return this.db.requireModel(name);
  }
}
