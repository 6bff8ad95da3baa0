import type { ApiToken } from '../auth/index.js';
import type { AliasEvent, Model, ModelVersion } from '../registry/index.js';

/** JSON shapes of the management API (snake_case, like the V2 protocol); the CLI's --json prints the same. */
export interface ModelView {
  name: string;
  description: string;
  tags: Record<string, string>;
  aliases: Record<string, number>;
  latest_version: number | null;
  created_at: string;
  updated_at: string;
}

export interface VersionView {
  name: string;
  version: number;
  sha256: string;
  size_bytes: number;
  format: string;
  description: string;
  tags: Record<string, string>;
  metrics: Record<string, number>;
  aliases: string[];
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; datatype: string; shape: number[] }[];
  source: string | null;
  lineage: Record<string, string>;
  reference: {
    sha256: string;
    format: string;
    size_bytes: number;
    label_column: string | null;
    columns: string[];
    rows: number | null;
  } | null;
  created_at: string;
}

export interface AliasEventView {
  id: number;
  name: string;
  alias: string;
  version: number | null;
  previous_version: number | null;
  action: string;
  actor: string | null;
  at: string;
}

export interface TokenView {
  id: string;
  name: string;
  role: string;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
}

/** A model with its versions, as `GET /api/v1/models/{name}` returns it. */
export interface ModelDetailView extends ModelView {
  versions: VersionView[];
}

/** Renders a model. */
export function modelView(m: Model): ModelView {
  return {
    name: m.name,
    description: m.description,
    tags: m.tags,
    aliases: m.aliases,
    latest_version: m.latestVersion,
    created_at: m.createdAt,
    updated_at: m.updatedAt,
  };
}

/** Renders a version; `aliases` lists the aliases of its model that point at it. */
export function versionView(v: ModelVersion, modelAliases: Record<string, number> = {}): VersionView {
  return {
    name: v.model,
    version: v.version,
    sha256: v.sha256,
    size_bytes: v.sizeBytes,
    format: v.format,
    description: v.description,
    tags: v.tags,
    metrics: v.metrics,
    aliases: Object.entries(modelAliases)
      .filter(([, n]) => n === v.version)
      .map(([a]) => a)
      .sort(),
    inputs: v.signature.inputs,
    outputs: v.signature.outputs,
    source: v.source,
    lineage: v.lineage,
    reference: v.reference && {
      sha256: v.reference.sha256,
      format: v.reference.format,
      size_bytes: v.reference.sizeBytes,
      label_column: v.reference.labelColumn,
      columns: v.reference.columns,
      rows: v.reference.rows,
    },
    created_at: v.createdAt,
  };
}

/** Renders one alias move. */
export function aliasEventView(e: AliasEvent): AliasEventView {
  return {
    id: e.id,
    name: e.model,
    alias: e.alias,
    version: e.version,
    previous_version: e.previousVersion,
    action: e.action,
    actor: e.actor,
    at: e.at,
  };
}

/** Renders a token (never its secret). */
export function tokenView(t: ApiToken): TokenView {
  return { id: t.id, name: t.name, role: t.role, prefix: t.prefix, created_at: t.createdAt, revoked_at: t.revokedAt };
}
