import type { Signature } from '../protocol/types.js';
import type { AliasEvent, Model, ModelVersion, NewVersion, ReferenceDataset } from './types.js';

/**
 * Registry rows as every engine's driver returns them, and their mapping to the registry types.
 * The engines share one table layout; they differ only in how a few column types come back, which
 * the types below name, so one mapping serves them all and a new engine adds no mapping code.
 */

/** TEXT holding ISO 8601 (SQLite) or a TIMESTAMPTZ that node-postgres turns into a Date. */
export type Timestamp = string | Date;
/** JSON as TEXT (SQLite) or already parsed (PostgreSQL JSON, INTEGER[]); T is never a string. */
export type Json<T> = string | T;
/** INTEGER (better-sqlite3: number) or BIGINT (node-postgres: a decimal string). */
export type Int64 = number | string;

export interface ModelRow {
  id: number;
  name: string;
  description: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  next_version: number;
}

export interface VersionRow {
  model_id: number;
  version: number;
  sha256: string;
  size_bytes: Int64;
  format: string;
  description: string;
  signature: Json<Signature>;
  source: string | null;
  lineage: Json<Record<string, string>>;
  reference: Json<ReferenceDataset> | null;
  created_at: Timestamp;
}

/** A tag, metric or alias of an owner (a model id or a version number), selected as owner/key/value. */
export interface KeyValueRow<V> {
  owner: number;
  key: string;
  value: V;
}

/** The tables of a version's tags and metrics, which share one layout (model_id, version, key, value). */
export type VersionValueTable = 'version_tags' | 'version_metrics';

/** A model's highest version number, selected as `model_id AS owner, max(version) AS latest`. */
export interface LatestRow {
  owner: number;
  latest: number;
}

export interface AliasRow {
  model_id: number;
  alias: string;
  version: number;
  /** The rollback stack: versions the alias pointed to before, oldest first. */
  previous: Json<number[]>;
  updated_at: Timestamp;
}

export interface AliasEventRow {
  id: Int64;
  alias: string;
  version: number | null;
  previous_version: number | null;
  action: AliasEvent['action'];
  actor: string | null;
  at: Timestamp;
}

/** ISO 8601 UTC, whichever way the engine returned the time. */
export function isoTime(t: Timestamp): string {
  return typeof t === 'string' ? t : t.toISOString();
}

/** A JSON column's value; a parsed one is returned as is (pg parses afresh for every query). */
export function fromJson<T>(v: Json<T>): T {
  return typeof v === 'string' ? (JSON.parse(v) as T) : v;
}

/** Groups key/value rows by their owner. */
export function groupByOwner<V>(rows: KeyValueRow<V>[]): Map<number, Record<string, V>> {
  const out = new Map<number, Record<string, V>>();
  for (const row of rows) {
    let bucket = out.get(row.owner);
    if (bucket === undefined) {
      bucket = {};
      out.set(row.owner, bucket);
    }
    bucket[row.key] = row.value;
  }
  return out;
}

/** Builds Models from their rows and the rows of their tags, aliases and latest versions (any order). */
export function toModels(
  rows: ModelRow[],
  tagRows: KeyValueRow<string>[],
  aliasRows: KeyValueRow<number>[],
  latestRows: LatestRow[],
): Model[] {
  const tags = groupByOwner(tagRows);
  const aliases = groupByOwner(aliasRows);
  const latest = new Map(latestRows.map((r) => [r.owner, r.latest]));
  return rows.map((row) => ({
    name: row.name,
    description: row.description,
    tags: tags.get(row.id) ?? {},
    createdAt: isoTime(row.created_at),
    updatedAt: isoTime(row.updated_at),
    aliases: aliases.get(row.id) ?? {},
    latestVersion: latest.get(row.id) ?? null,
  }));
}

/** Builds one model's ModelVersions from their rows and the rows of their tags and metrics. */
export function toVersions(
  model: string,
  rows: VersionRow[],
  tagRows: KeyValueRow<string>[],
  metricRows: KeyValueRow<number>[],
): ModelVersion[] {
  const tags = groupByOwner(tagRows);
  const metrics = groupByOwner(metricRows);
  return rows.map((row) => ({
    model,
    version: row.version,
    sha256: row.sha256,
    sizeBytes: Number(row.size_bytes),
    format: 'onnx',
    description: row.description,
    tags: tags.get(row.version) ?? {},
    metrics: metrics.get(row.version) ?? {},
    signature: fromJson(row.signature),
    source: row.source,
    lineage: fromJson(row.lineage),
    reference: row.reference === null ? null : fromJson(row.reference),
    createdAt: isoTime(row.created_at),
  }));
}

/** Builds an AliasEvent from its history row. */
export function toAliasEvent(model: string, row: AliasEventRow): AliasEvent {
  return {
    id: Number(row.id),
    model,
    alias: row.alias,
    version: row.version,
    previousVersion: row.previous_version,
    action: row.action,
    actor: row.actor,
    at: isoTime(row.at),
  };
}

/** The alias's rollback stack (a fresh array the caller may change); empty for a missing alias. */
export function rollbackStack(row: AliasRow | undefined): number[] {
  return row === undefined ? [] : [...fromJson(row.previous)];
}

/**
 * The values a new version's row is inserted with, in the order of the versions table's columns:
 * model_id, version, sha256, size_bytes, format, description, signature, source, lineage,
 * reference, reference_sha256, created_at. JSON goes as text, which both engines take.
 */
export function newVersionValues(modelId: number, version: number, input: NewVersion, at: Timestamp): unknown[] {
  const reference = input.reference ?? null;
  return [
    modelId,
    version,
    input.sha256,
    input.sizeBytes,
    'onnx',
    input.description ?? '',
    JSON.stringify(input.signature),
    input.source ?? null,
    JSON.stringify(input.lineage ?? {}),
    reference === null ? null : JSON.stringify(reference),
    reference?.sha256 ?? null,
    at,
  ];
}
