import type { Signature } from '../../protocol/types.js';
import type { AliasEvent, Model, ModelVersion, ReferenceDataset } from '../types.js';

/**
 * Row shapes as node-postgres returns them, and their mapping to the registry types. Unlike
 * better-sqlite3, pg parses JSON and arrays itself, returns TIMESTAMPTZ as Date and BIGINT as string.
 */

export interface ModelRow {
  id: number;
  name: string;
  description: string;
  created_at: Date;
  updated_at: Date;
  next_version: number;
}

export interface VersionRow {
  model_id: number;
  version: number;
  sha256: string;
  size_bytes: string;
  format: string;
  description: string;
  signature: Signature;
  source: string | null;
  lineage: Record<string, string>;
  reference: ReferenceDataset | null;
  created_at: Date;
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
  previous: number[];
  updated_at: Date;
}

export interface AliasEventRow {
  id: string;
  alias: string;
  version: number | null;
  previous_version: number | null;
  action: AliasEvent['action'];
  actor: string | null;
  at: Date;
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
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    aliases,
    latestVersion,
  };
}

/** Builds a ModelVersion from its row; the JSON columns arrive parsed, and fresh per query. */
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
    sizeBytes: Number(row.size_bytes),
    format: 'onnx',
    description: row.description,
    tags,
    metrics,
    signature: row.signature,
    source: row.source,
    lineage: row.lineage,
    reference: row.reference,
    createdAt: row.created_at.toISOString(),
  };
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
    at: row.at.toISOString(),
  };
}
