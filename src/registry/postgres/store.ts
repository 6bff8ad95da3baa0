import type pg from 'pg';
import { type AliasEventRow, type ModelRow, newVersionValues, rollbackStack, toAliasEvent } from '../rows.js';
import { refuseModelDelete, refuseVersionDelete, rollbackTarget, stackAfterSet } from '../rules.js';
import type { RegistryStore } from '../store.js';
import type { AliasEvent, Model, ModelVersion, NewVersion } from '../types.js';
import { validateAliasTarget, validateMetric, validateModelName, validateNewVersion, validateTag } from '../validate.js';
import {
  aliasNames,
  existingVersions,
  findAlias,
  findModel,
  latestVersion,
  listModels,
  loadModel,
  loadVersion,
  loadVersions,
  RegistryDb,
  recordAliasEvent,
  requireAlias,
  requireModel,
  requireVersion,
  setVersionValues,
  touch,
} from './db.js';

export interface PostgresStoreOptions {
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

/**
 * RegistryStore on PostgreSQL (node-postgres), for several servers sharing one registry. Every
 * change is one transaction that first locks its model's row, so concurrent writers (in this process
 * or another server) are serialized per model: version numbers stay 1, 2, 3… without gaps or
 * duplicates and alias stacks are never read half-updated. Reads spanning several queries share
 * one REPEATABLE READ snapshot.
 */
export class PostgresRegistryStore implements RegistryStore {
  private constructor(private readonly db: RegistryDb) {}

  /** Connects to `postgres://…[?schema=NAME]`, creating the schema and tables if missing. */
  static async open(uri: string, options: PostgresStoreOptions = {}): Promise<PostgresRegistryStore> {
    return new PostgresRegistryStore(await RegistryDb.open(uri, options.poolSize ?? 10));
  }

  /** The schema version the database is at after opening. */
  get schemaVersion(): number {
    return this.db.schemaVersion;
  }

  // ---- models ----

  async ensureModel(name: string, description = ''): Promise<Model> {
    validateModelName(name);
    return this.db.write(async (c) => loadModel(c, await insertModel(c, name, description)));
  }

  async getModel(name: string): Promise<Model | undefined> {
    return this.db.read(async (c) => {
      const row = await findModel(c, name);
      return row === undefined ? undefined : loadModel(c, row);
    });
  }

  async listModels(): Promise<Model[]> {
    return this.db.read((c) => listModels(c));
  }

  async setModelDescription(name: string, description: string): Promise<Model> {
    return this.db.write(async (c) => {
      const model = await requireModel(c, name, true);
      await c.query('UPDATE models SET description = $1, updated_at = $2 WHERE id = $3', [description, new Date(), model.id]);
      return loadModel(c, await requireModel(c, name));
    });
  }

  async setModelTag(name: string, key: string, value: string): Promise<void> {
    validateTag(key, value);
    await this.db.write(async (c) => {
      const model = await requireModel(c, name, true);
      await c.query(
        `INSERT INTO model_tags (model_id, key, value) VALUES ($1, $2, $3)
         ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value`,
        [model.id, key, value],
      );
      await touch(c, model.id);
    });
  }

  async deleteModelTag(name: string, key: string): Promise<void> {
    await this.db.write(async (c) => {
      const model = await requireModel(c, name, true);
      const r = await c.query('DELETE FROM model_tags WHERE model_id = $1 AND key = $2', [model.id, key]);
      if ((r.rowCount ?? 0) > 0) await touch(c, model.id);
    });
  }

  async deleteModel(name: string): Promise<void> {
    await this.db.write(async (c) => {
      const model = await requireModel(c, name, true);
      refuseModelDelete(name, await aliasNames(c, model.id));
      await c.query('DELETE FROM models WHERE id = $1', [model.id]);
    });
  }

  // ---- versions ----

  async createVersion(input: NewVersion): Promise<ModelVersion> {
    validateNewVersion(input);
    return this.db.write(async (c) => {
      const model = await insertModel(c, input.model, '');
      // next_version is the source of truth; max()+1 only guards against a hand-edited database.
      const version = Math.max(model.next_version, ((await latestVersion(c, model.id)) ?? 0) + 1);
      const at = new Date();
      await c.query(
        `INSERT INTO versions (model_id, version, sha256, size_bytes, format, description, signature,
           source, lineage, reference, reference_sha256, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        newVersionValues(model.id, version, input, at),
      );
      await c.query('UPDATE models SET next_version = $1, updated_at = $2 WHERE id = $3', [version + 1, at, model.id]);
      await setVersionValues(c, 'version_tags', model.id, version, input.tags ?? {});
      await setVersionValues(c, 'version_metrics', model.id, version, input.metrics ?? {});
      return (await loadVersion(c, model, version))!;
    });
  }

  async getVersion(name: string, version: number): Promise<ModelVersion | undefined> {
    return this.db.read(async (c) => {
      const model = await findModel(c, name);
      return model === undefined ? undefined : loadVersion(c, model, version);
    });
  }

  async listVersions(name: string): Promise<ModelVersion[]> {
    return this.db.read(async (c) => loadVersions(c, await requireModel(c, name)));
  }

  async deleteVersion(name: string, version: number): Promise<void> {
    await this.db.write(async (c) => {
      const model = await requireVersion(c, name, version, true);
      refuseVersionDelete(name, version, await aliasNames(c, model.id, version));
      await c.query('DELETE FROM versions WHERE model_id = $1 AND version = $2', [model.id, version]);
      await touch(c, model.id);
    });
  }

  async setVersionDescription(name: string, version: number, description: string): Promise<ModelVersion> {
    return this.db.write(async (c) => {
      const model = await requireVersion(c, name, version, true);
      await c.query('UPDATE versions SET description = $1 WHERE model_id = $2 AND version = $3', [
        description,
        model.id,
        version,
      ]);
      return (await loadVersion(c, model, version))!;
    });
  }

  async setVersionTag(name: string, version: number, key: string, value: string): Promise<void> {
    validateTag(key, value);
    await this.db.write(async (c) => {
      const model = await requireVersion(c, name, version, true);
      await setVersionValues(c, 'version_tags', model.id, version, { [key]: value });
    });
  }

  async deleteVersionTag(name: string, version: number, key: string): Promise<void> {
    await this.db.write(async (c) => {
      const model = await requireVersion(c, name, version, true);
      await c.query('DELETE FROM version_tags WHERE model_id = $1 AND version = $2 AND key = $3', [
        model.id,
        version,
        key,
      ]);
    });
  }

  async setVersionMetric(name: string, version: number, key: string, value: number): Promise<void> {
    validateMetric(key, value);
    await this.db.write(async (c) => {
      const model = await requireVersion(c, name, version, true);
      await setVersionValues(c, 'version_metrics', model.id, version, { [key]: value });
    });
  }

  async artifactInUse(sha256: string): Promise<boolean> {
    const r = await this.db.q('SELECT 1 FROM versions WHERE sha256 = $1 OR reference_sha256 = $1 LIMIT 1', [sha256]);
    return r.rows.length > 0;
  }

  // ---- aliases ----

  async setAlias(name: string, alias: string, version: number, actor: string | null = null): Promise<AliasEvent> {
    validateAliasTarget(alias, version);
    return this.db.write(async (c) => {
      const model = await requireVersion(c, name, version, true);
      const current = await findAlias(c, model.id, alias);
      const stack = stackAfterSet(current, version);
      await c.query(
        `INSERT INTO aliases (model_id, alias, version, previous, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (model_id, alias) DO UPDATE
           SET version = excluded.version, previous = excluded.previous, updated_at = excluded.updated_at`,
        [model.id, alias, version, stack, new Date()],
      );
      return recordAliasEvent(c, model, alias, version, current?.version ?? null, 'set', actor);
    });
  }

  async deleteAlias(name: string, alias: string, actor: string | null = null): Promise<AliasEvent> {
    return this.db.write(async (c) => {
      const model = await requireModel(c, name, true);
      const current = await requireAlias(c, model, alias);
      await c.query('DELETE FROM aliases WHERE model_id = $1 AND alias = $2', [model.id, alias]);
      return recordAliasEvent(c, model, alias, null, current.version, 'delete', actor);
    });
  }

  async getAlias(name: string, alias: string): Promise<number | undefined> {
    const r = await this.db.q<{ version: number }>(
      'SELECT a.version FROM aliases a JOIN models m ON m.id = a.model_id WHERE m.name = $1 AND a.alias = $2',
      [name, alias],
    );
    return r.rows[0]?.version;
  }

  async aliasHistory(name: string, alias?: string): Promise<AliasEvent[]> {
    return this.db.read(async (c) => {
      const model = await requireModel(c, name);
      const r =
        alias === undefined
          ? await c.query<AliasEventRow>('SELECT * FROM alias_history WHERE model_id = $1 ORDER BY id DESC', [model.id])
          : await c.query<AliasEventRow>(
              'SELECT * FROM alias_history WHERE model_id = $1 AND alias = $2 ORDER BY id DESC',
              [model.id, alias],
            );
      return r.rows.map((row) => toAliasEvent(name, row));
    });
  }

  async rollbackAlias(name: string, alias: string, actor: string | null = null): Promise<AliasEvent> {
    return this.db.write(async (c) => {
      const model = await requireModel(c, name, true);
      const current = await requireAlias(c, model, alias);
      const previous = await existingVersions(c, model.id, rollbackStack(current));
      const { target, stack } = rollbackTarget(name, current, previous);
      await c.query(
        'UPDATE aliases SET version = $1, previous = $2, updated_at = $3 WHERE model_id = $4 AND alias = $5',
        [target, stack, new Date(), model.id, alias],
      );
      return recordAliasEvent(c, model, alias, target, current.version, 'rollback', actor);
    });
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/**
 * Inserts the model unless it exists and returns its row, locked until the transaction ends.
 * ON CONFLICT DO NOTHING waits for a concurrent insert of the same name to commit, so the
 * SELECT … FOR UPDATE after it always finds the row.
 */
async function insertModel(c: pg.PoolClient, name: string, description: string): Promise<ModelRow> {
  const at = new Date();
  await c.query(
    `INSERT INTO models (name, description, created_at, updated_at) VALUES ($1, $2, $3, $3)
     ON CONFLICT (name) DO NOTHING`,
    [name, description, at],
  );
  return requireModel(c, name, true);
}
