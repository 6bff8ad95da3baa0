import type { Signature } from '../protocol/types.js';

/** A registered model: a name that owns numbered, immutable versions. */
export interface Model {
  name: string;
  description: string;
  tags: Record<string, string>;
  createdAt: string; // ISO 8601
  updatedAt: string;
  /** alias -> version number */
  aliases: Record<string, number>;
  latestVersion: number | null;
}

/** A dataset attached to a version, against which monitoring compares live traffic. */
export interface ReferenceDataset {
  sha256: string;
  format: 'csv' | 'parquet';
  sizeBytes: number;
  labelColumn: string | null;
  columns: string[];
  rows: number | null;
}

/** One immutable version of a model. */
export interface ModelVersion {
  model: string;
  version: number;
  /** SHA-256 (hex) of the ONNX artifact: its address in the artifact store. */
  sha256: string;
  sizeBytes: number;
  format: 'onnx';
  description: string;
  tags: Record<string, string>;
  metrics: Record<string, number>;
  signature: Signature;
  /** Where the artifact came from (the file name given at registration), for lineage. */
  source: string | null;
  /** Free-form lineage: parent version, run id, training command, dataset hashes. */
  lineage: Record<string, string>;
  reference: ReferenceDataset | null;
  createdAt: string;
}

/** One move of an alias; `version` null means the alias was removed. */
export interface AliasEvent {
  id: number;
  model: string;
  alias: string;
  version: number | null;
  previousVersion: number | null;
  action: 'set' | 'delete' | 'rollback';
  actor: string | null;
  at: string;
}

export interface NewVersion {
  model: string;
  sha256: string;
  sizeBytes: number;
  description?: string;
  tags?: Record<string, string>;
  metrics?: Record<string, number>;
  signature: Signature;
  source?: string | null;
  lineage?: Record<string, string>;
  reference?: ReferenceDataset | null;
}
