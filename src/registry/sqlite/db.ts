import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqlite } from '../../sqlite.js';
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

/** Current time as ISO 8601 UTC. */
export const now = (): string => new Date().toISOString();

/**
 * The SQLite connection under SqliteRegistryStore: opening and pragmas, cached statements,
 * transactions, and the lookups every operation shares (find/require, row loading).
 */
export class RegistryDb {
  readonly path: string;
  readonly schemaVersion: number;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  /** Opens the database (creating parent directories), sets pragmas and migrates the schema. */
  constructor(path: string, busyTimeoutMs: number) {
    this.path = path === ':memory:' ? path : resolve(path);
    this.db = openSqlite(this.path, busyTimeoutMs);
    try {
      this.db.pragma('foreign_keys = ON');
      this.schemaVersion = migrate(this.db);
    } catch (e) {
      this.db.close();
      throw e;
    }
  }

  /** Closes the connection (idempotent). */
  close(): void {
    if (this.db.open) this.db.close();
  }

  /** A cached prepared statement. */
  q(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs `fn` in BEGIN IMMEDIATE: the write lock is taken up front, so reads inside it stay current. */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  /** Bumps the model's updated_at. */
  touch(modelId: number): void {
    this.q('UPDATE models SET updated_at = ? WHERE id = ?').run(now(), modelId);
  }

  /** Sets tags or metrics of a version, replacing the values of keys it has already. */
  setVersionValues(
    table: VersionValueTable,
    modelId: number,
    version: number,
    values: Record<string, string | number>,
  ): void {
    const upsert = this.q(
      `INSERT INTO ${table} (model_id, version, key, value) VALUES (?, ?, ?, ?)
       ON CONFLICT (model_id, version, key) DO UPDATE SET value = excluded.value`,
    );
    for (const [key, value] of Object.entries(values)) upsert.run(modelId, version, key, value);
  }

  /** The model's row, if it exists. */
  findModel(name: string): ModelRow | undefined {
    return this.q('SELECT * FROM models WHERE name = ?').get(name) as ModelRow | undefined;
  }

  /** The model's row, or NOT_FOUND. */
  requireModel(name: string): ModelRow {
    const row = this.findModel(name);
    if (row === undefined) throw missing.model(name);
    return row;
  }

  /** Whether the model has this version. */
  versionExists(modelId: number, version: number): boolean {
    return this.q('SELECT 1 FROM versions WHERE model_id = ? AND version = ?').get(modelId, version) !== undefined;
  }

  /** Those of `versions` the model still has. */
  existingVersions(modelId: number, versions: number[]): Set<number> {
    const rows = this.q('SELECT version FROM versions WHERE model_id = ? AND version IN (SELECT value FROM json_each(?))')
      .pluck()
      .all(modelId, JSON.stringify(versions)) as number[];
    return new Set(rows);
  }

  /** The model's row, or NOT_FOUND for a missing model or version. */
  requireVersion(name: string, version: number): ModelRow {
    const model = this.requireModel(name);
    if (!this.versionExists(model.id, version)) throw missing.version(name, version);
    return model;
  }

  /** The alias row, if it exists. */
  findAlias(modelId: number, alias: string): AliasRow | undefined {
    return this.q('SELECT * FROM aliases WHERE model_id = ? AND alias = ?').get(modelId, alias) as AliasRow | undefined;
  }

  /** The alias row, or NOT_FOUND. */
  requireAlias(model: ModelRow, alias: string): AliasRow {
    const row = this.findAlias(model.id, alias);
    if (row === undefined) throw missing.alias(model.name, alias);
    return row;
  }

  /** Aliases pointing at `version` (any version when undefined), sorted. */
  aliasNames(modelId: number, version?: number): string[] {
    const rows =
      version === undefined
        ? this.q('SELECT alias FROM aliases WHERE model_id = ? ORDER BY alias').all(modelId)
        : this.q('SELECT alias FROM aliases WHERE model_id = ? AND version = ? ORDER BY alias').all(modelId, version);
    return (rows as { alias: string }[]).map((r) => r.alias);
  }

  /** Appends an event to the alias history and returns it. */
  recordAliasEvent(
    model: ModelRow,
    alias: string,
    version: number | null,
    previousVersion: number | null,
    action: AliasEvent['action'],
    actor: string | null,
  ): AliasEvent {
    const row = this.q(
      `INSERT INTO alias_history (model_id, alias, version, previous_version, action, actor, at)
       VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    ).get(model.id, alias, version, previousVersion, action, actor, now()) as AliasEventRow;
    this.touch(model.id);
    return toAliasEvent(model.name, row);
  }

  /** Every model, with tags, aliases and latest version, in a fixed number of queries. */
  listModels(): Model[] {
    return toModels(
      this.q('SELECT * FROM models ORDER BY name').all() as ModelRow[],
      this.q('SELECT model_id AS owner, key, value FROM model_tags').all() as KeyValueRow<string>[],
      this.q('SELECT model_id AS owner, alias AS key, version AS value FROM aliases').all() as KeyValueRow<number>[],
      this.q('SELECT model_id AS owner, max(version) AS latest FROM versions GROUP BY model_id').all() as LatestRow[],
    );
  }

  /** One model with its tags, aliases and latest version. */
  loadModel(row: ModelRow): Model {
    return toModels(
      [row],
      this.q('SELECT model_id AS owner, key, value FROM model_tags WHERE model_id = ?').all(
        row.id,
      ) as KeyValueRow<string>[],
      this.q('SELECT model_id AS owner, alias AS key, version AS value FROM aliases WHERE model_id = ?').all(
        row.id,
      ) as KeyValueRow<number>[],
      this.q('SELECT model_id AS owner, max(version) AS latest FROM versions WHERE model_id = ? GROUP BY model_id').all(
        row.id,
      ) as LatestRow[],
    )[0]!;
  }

  /** The highest existing version number, or null. */
  latestVersion(modelId: number): number | null {
    return (this.q('SELECT max(version) AS v FROM versions WHERE model_id = ?').get(modelId) as { v: number | null })
      .v;
  }

  /** One version, or undefined. */
  loadVersion(model: ModelRow, version: number): ModelVersion | undefined {
    const row = this.q('SELECT * FROM versions WHERE model_id = ? AND version = ?').get(model.id, version) as
      | VersionRow
      | undefined;
    return row === undefined ? undefined : this.attach(model, [row], version)[0];
  }

  /** All of a model's versions, ascending. */
  loadVersions(model: ModelRow): ModelVersion[] {
    const rows = this.q('SELECT * FROM versions WHERE model_id = ? ORDER BY version').all(model.id) as VersionRow[];
    return this.attach(model, rows);
  }

  /** Attaches tags and metrics to version rows with one query each, not one per version. */
  private attach(model: ModelRow, rows: VersionRow[], only?: number): ModelVersion[] {
    if (rows.length === 0) return [];
    const filter = only === undefined ? '' : 'AND version = ?';
    const args = only === undefined ? [model.id] : [model.id, only];
    return toVersions(
      model.name,
      rows,
      this.q(`SELECT version AS owner, key, value FROM version_tags WHERE model_id = ? ${filter}`).all(
        ...args,
      ) as KeyValueRow<string>[],
      this.q(`SELECT version AS owner, key, value FROM version_metrics WHERE model_id = ? ${filter}`).all(
        ...args,
      ) as KeyValueRow<number>[],
    );
  }
}
