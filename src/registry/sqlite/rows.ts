import type { Signature } from '../../protocol/types.js';
import type { AliasEvent, Model, ModelVersion, ReferenceDataset } from '../types.js';

/** Row shapes as better-sqlite3 returns them, and their mapping to the registry types. */

export interface ModelRow {
  id: number;
  name: string;
  description: string;
  created_at: string;
  updated_at: string;
  next_version: number;
}

export interface VersionRow {
  model_id: number;
  version: number;
  sha256: string;
  size_bytes: number;
  format: string;
  description: string;
  signature: string;
  source: string | null;
  lineage: string;
  reference: string | null;
  created_at: string;
}

export interface KeyValueRow<V> {
  owner: number;
  key: string;
  value: V;
}

export interface AliasRow {
  model_id: number;
  alias: string;
  version: number;
  previous: string;
  updated_at: string;
}

export interface AliasEventRow {
  id: number;
  alias: string;
  version: number | null;
  previous_version: number | null;
  action: AliasEvent['action'];
  actor: string | null;
  at: string;
}

/** Groups key/value rows by their owner (a model id or a version number). */
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

/** Builds a Model from its row and the pieces kept in other tables. */
export function toModel(
  row: ModelRow,
  tags: Record<string, string>,
  aliases: Record<string, number>,
  latestVersion: number | null,
): Model {
  return {
    name: row.name,
    description: row.description,
    tags,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    aliases,
    latestVersion,
  };
}

/** Builds a ModelVersion from its row, decoding the JSON columns. */
export function toVersion(
  model: string,
  row: VersionRow,
  tags: Record<string, string>,
  metrics: Record<string, number>,
): ModelVersion {
  return {
    model,
    version: row.version,
    sha256: row.sha256,
    sizeBytes: row.size_bytes,
    format: 'onnx',
    description: row.description,
    tags,
    metrics,
    signature: JSON.parse(row.signature) as Signature,
    source: row.source,
    lineage: JSON.parse(row.lineage) as Record<string, string>,
    reference: row.reference === null ? null : (JSON.parse(row.reference) as ReferenceDataset),
    createdAt: row.created_at,
  };
}

/** Builds an AliasEvent from its history row. */
export function toAliasEvent(model: string, row: AliasEventRow): AliasEvent {
  return {
    id: row.id,
    model,
    alias: row.alias,
    version: row.version,
    previousVersion: row.previous_version,
    action: row.action,
    actor: row.actor,
    at: row.at,
  };
}
