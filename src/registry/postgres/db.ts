import type pg from 'pg';
import { openPgPool, type Queryable, query, transaction } from '../../postgres.js';
import {
  type AliasEventRow,
  type AliasRow,
  type KeyValueRow,
  type LatestRow,
  type ModelRow,
  toAliasEvent,
  toModels,
  toVersions,
  type VersionRow,
  type VersionValueTable,
} from '../rows.js';
import { missing } from '../rules.js';
import type { AliasEvent, Model, ModelVersion } from '../types.js';
import { migrate } from './schema.js';

/**
 * The PostgreSQL pool under PostgresRegistryStore: opening and migrating, transactions, and the
 * lookups every operation shares (find/require, row loading). Lookups take the connection to run
 * on, so that they join the caller's transaction.
 */
export class RegistryDb {
  private constructor(
    private readonly pool: pg.Pool,
    readonly schemaVersion: number,
  ) {}

  /** Opens a pool on the URI (creating its `?schema=` if missing) and migrates the schema. */
  static async open(uri: string, poolSize: number): Promise<RegistryDb> {
    const pool = await openPgPool(uri, poolSize);
    try {
      return new RegistryDb(pool, await migrate(pool));
    } catch (e) {
      await pool.end();
      throw e;
    }
  }

  /** Ends the pool (idempotent). */
  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }

  /**
   * Runs a change in a READ COMMITTED transaction. Every change starts by locking its model's row
   * (requireModel(…, true)), which serializes writers per model the way SQLite's single write lock
   * serializes all of them: two servers allocating versions or moving aliases wait for each other.
   */
  write<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, fn);
  }

  /** Runs reads that span several queries on one snapshot, so they never see half of a change. */
  read<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return transaction(this.pool, fn, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  /** One statement outside any transaction. */
  q<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<pg.QueryResult<R>> {
    return query<R>(this.pool, sql, params);
  }
}

/** Bumps the model's updated_at. */
export async function touch(c: Queryable, modelId: number): Promise<void> {
  await query(c, 'UPDATE models SET updated_at = $1 WHERE id = $2', [new Date(), modelId]);
}

/** Sets tags or metrics of a version in one statement, replacing the values of keys it has already. */
export async function setVersionValues(
  c: Queryable,
  table: VersionValueTable,
  modelId: number,
  version: number,
  values: Record<string, string | number>,
): Promise<void> {
  const entries = Object.entries(values);
  if (entries.length === 0) return;
  const type = table === 'version_tags' ? 'text' : 'float8';
  await query(
    c,
    `INSERT INTO ${table} (model_id, version, key, value)
     SELECT $1, $2, k, v FROM unnest($3::text[], $4::${type}[]) AS t(k, v)
     ON CONFLICT (model_id, version, key) DO UPDATE SET value = excluded.value`,
    [modelId, version, entries.map(([k]) => k), entries.map(([, v]) => v)],
  );
}

/** The model's row, if it exists; `lock` takes its row lock until the transaction ends. */
export async function findModel(c: Queryable, name: string, lock = false): Promise<ModelRow | undefined> {
  const sql = `SELECT * FROM models WHERE name = $1${lock ? ' FOR UPDATE' : ''}`;
  return (await query<ModelRow>(c, sql, [name])).rows[0];
}

/** The model's row, or NOT_FOUND. */
export async function requireModel(c: Queryable, name: string, lock = false): Promise<ModelRow> {
  const row = await findModel(c, name, lock);
  if (row === undefined) throw missing.model(name);
  return row;
}

/** Whether the model has this version. */
export async function versionExists(c: Queryable, modelId: number, version: number): Promise<boolean> {
  const r = await query(c, 'SELECT 1 FROM versions WHERE model_id = $1 AND version = $2', [modelId, version]);
  return r.rows.length > 0;
}

/** Those of `versions` the model still has. */
export async function existingVersions(c: Queryable, modelId: number, versions: number[]): Promise<Set<number>> {
  const r = await query<{ version: number }>(
    c,
    'SELECT version FROM versions WHERE model_id = $1 AND version = ANY($2::int[])',
    [modelId, versions],
  );
  return new Set(r.rows.map((row) => row.version));
}

/** The model's row (locked when `lock`), or NOT_FOUND for a missing model or version. */
export async function requireVersion(c: Queryable, name: string, version: number, lock = false): Promise<ModelRow> {
  const model = await requireModel(c, name, lock);
  if (!(await versionExists(c, model.id, version))) throw missing.version(name, version);
  return model;
}

/** The alias row, if it exists. */
export async function findAlias(c: Queryable, modelId: number, alias: string): Promise<AliasRow | undefined> {
  return (await query<AliasRow>(c, 'SELECT * FROM aliases WHERE model_id = $1 AND alias = $2', [modelId, alias]))
    .rows[0];
}

/** The alias row, or NOT_FOUND. */
export async function requireAlias(c: Queryable, model: ModelRow, alias: string): Promise<AliasRow> {
  const row = await findAlias(c, model.id, alias);
  if (row === undefined) throw missing.alias(model.name, alias);
  return row;
}

/** Aliases pointing at `version` (any version when undefined), sorted. */
export async function aliasNames(c: Queryable, modelId: number, version?: number): Promise<string[]> {
  const r =
    version === undefined
      ? await query<{ alias: string }>(c, 'SELECT alias FROM aliases WHERE model_id = $1 ORDER BY alias COLLATE "C"', [
          modelId,
        ])
      : await query<{ alias: string }>(
          c,
          'SELECT alias FROM aliases WHERE model_id = $1 AND version = $2 ORDER BY alias COLLATE "C"',
          [modelId, version],
        );
  return r.rows.map((row) => row.alias);
}

/** Appends an event to the alias history and returns it. */
export async function recordAliasEvent(
  c: Queryable,
  model: ModelRow,
  alias: string,
  version: number | null,
  previousVersion: number | null,
  action: AliasEvent['action'],
  actor: string | null,
): Promise<AliasEvent> {
  const { rows } = await query<AliasEventRow>(
    c,
    `INSERT INTO alias_history (model_id, alias, version, previous_version, action, actor, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
    [model.id, alias, version, previousVersion, action, actor, new Date()],
  );
  await touch(c, model.id);
  return toAliasEvent(model.name, rows[0]!);
}

/** Every model, with tags, aliases and latest version, in a fixed number of queries. */
export async function listModels(c: Queryable): Promise<Model[]> {
  return toModels(
    // COLLATE "C": byte order, as SQLite sorts, whatever the database's locale.
    (await query<ModelRow>(c, 'SELECT * FROM models ORDER BY name COLLATE "C"')).rows,
    (await query<KeyValueRow<string>>(c, 'SELECT model_id AS owner, key, value FROM model_tags')).rows,
    (await query<KeyValueRow<number>>(c, 'SELECT model_id AS owner, alias AS key, version AS value FROM aliases')).rows,
    (await query<LatestRow>(c, 'SELECT model_id AS owner, max(version) AS latest FROM versions GROUP BY model_id')).rows,
  );
}

/** One model with its tags, aliases and latest version. */
export async function loadModel(c: Queryable, row: ModelRow): Promise<Model> {
  const byModel = [row.id];
  return toModels(
    [row],
    (await query<KeyValueRow<string>>(c, 'SELECT model_id AS owner, key, value FROM model_tags WHERE model_id = $1', byModel))
      .rows,
    (
      await query<KeyValueRow<number>>(
        c,
        'SELECT model_id AS owner, alias AS key, version AS value FROM aliases WHERE model_id = $1',
        byModel,
      )
    ).rows,
    (
      await query<LatestRow>(
        c,
        'SELECT model_id AS owner, max(version) AS latest FROM versions WHERE model_id = $1 GROUP BY model_id',
        byModel,
      )
    ).rows,
  )[0]!;
}

/** The highest existing version number, or null. */
export async function latestVersion(c: Queryable, modelId: number): Promise<number | null> {
  return (await query<{ v: number | null }>(c, 'SELECT max(version) AS v FROM versions WHERE model_id = $1', [modelId]))
    .rows[0]!.v;
}

/** One version, or undefined. */
export async function loadVersion(c: Queryable, model: ModelRow, version: number): Promise<ModelVersion | undefined> {
  const { rows } = await query<VersionRow>(c, 'SELECT * FROM versions WHERE model_id = $1 AND version = $2', [
    model.id,
    version,
  ]);
  return rows.length === 0 ? undefined : (await attach(c, model, rows, version))[0];
}

/** All of a model's versions, ascending. */
export async function loadVersions(c: Queryable, model: ModelRow): Promise<ModelVersion[]> {
  const { rows } = await query<VersionRow>(c, 'SELECT * FROM versions WHERE model_id = $1 ORDER BY version', [model.id]);
  return attach(c, model, rows);
}

/** Attaches tags and metrics to version rows with one query each, not one per version. */
async function attach(c: Queryable, model: ModelRow, rows: VersionRow[], only?: number): Promise<ModelVersion[]> {
  if (rows.length === 0) return [];
  const filter = only === undefined ? '' : 'AND version = $2';
  const args = only === undefined ? [model.id] : [model.id, only];
  return toVersions(
    model.name,
    rows,
    (
      await query<KeyValueRow<string>>(
        c,
        `SELECT version AS owner, key, value FROM version_tags WHERE model_id = $1 ${filter}`,
        args,
      )
    ).rows,
    (
      await query<KeyValueRow<number>>(
        c,
        `SELECT version AS owner, key, value FROM version_metrics WHERE model_id = $1 ${filter}`,
        args,
      )
    ).rows,
  );
}
