import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { errors, isBerthError } from '../errors.js';
import type { Signature } from '../protocol/types.js';
import type { ArtifactStore } from './artifacts/store.js';
import { Mutex } from './lock.js';
import { inspectReference } from './reference.js';
import { missing } from './rules.js';
import type { RegistryStore } from './store.js';
import type { AliasEvent, Model, ModelVersion, ReferenceDataset } from './types.js';
import {
  validateAliasName,
  validateMetrics,
  validateModelName,
  validateTags,
  validateVersionNumber,
} from './validate.js';

/** A model version named by number, by alias, or neither (the champion, else the newest). */
export type ModelRef = { name: string; version?: number; alias?: string };

/** The alias `resolve` follows when a reference names neither a version nor an alias. */
export const DEFAULT_ALIAS = 'champion';

/** Parses `NAME`, `NAME:VERSION` or `NAME@ALIAS`; BAD_REQUEST on anything else. */
export function parseModelRef(s: string): ModelRef {
  const bad = (why: string): never => {
    throw errors.badRequest(`invalid model reference '${s}': ${why} (expected NAME, NAME:VERSION or NAME@ALIAS)`, 'ref');
  };
  const at = s.indexOf('@');
  const colon = s.indexOf(':');
  if (at >= 0 && colon >= 0) bad('give a version or an alias, not both');
  const cut = at >= 0 ? at : colon;
  const name = cut >= 0 ? s.slice(0, cut) : s;
  const rest = cut >= 0 ? s.slice(cut + 1) : undefined;
  if (!isValid(() => validateModelName(name))) bad(`'${name}' is not a valid model name`);
  if (rest === undefined) return { name };
  if (at >= 0) {
    if (!isValid(() => validateAliasName(rest))) bad(`'${rest}' is not a valid alias`);
    return { name, alias: rest };
  }
  if (!/^[1-9][0-9]{0,14}$/.test(rest)) {
    if (isValid(() => validateAliasName(rest))) bad(`version must be a positive integer; for an alias use ${name}@${rest}`);
    bad('version must be a positive integer');
  }
  return { name, version: Number(rest) };
}

/** Formats a resolved version the way parseModelRef reads it back (`weather:3`). */
export function formatModelRef(mv: { model: string; version: number }): string {
  return `${mv.model}:${mv.version}`;
}

/** What the registry needs from a runtime: a model's signature, or INVALID_MODEL with the reason. */
export interface ModelInspector {
  inspect(bytes: Uint8Array): Promise<Signature>;
}

export interface RegisterOptions {
  /** Point this alias at the new version (e.g. 'champion'). */
  alias?: string;
  description?: string;
  tags?: Record<string, string>;
  metrics?: Record<string, number>;
  /** A CSV or Parquet file that monitoring compares live traffic against. */
  reference?: { path: string; labelColumn?: string };
  lineage?: Record<string, string>;
  /** Where the model came from; defaults to the file name when registering a path. */
  source?: string;
  /** Who registered it, recorded in the alias history. */
  actor?: string;
}

/**
 * The registry service: models, immutable numbered versions, aliases, and the artifacts behind
 * them. The CLI, the REST API and the dashboard all call this, never the stores directly.
 */
export class Registry {
  private readonly writes = new Mutex();

  /** Wires the service to its metadata store, its blob store and a model inspector. */
  constructor(
    readonly store: RegistryStore,
    readonly artifacts: ArtifactStore,
    private readonly runtime: ModelInspector,
  ) {}

  /**
   * Registers a new version. The model is validated by the runtime and the reference dataset
   * inspected before anything is stored, so a rejected registration leaves no trace.
   */
  async register(name: string, model: Uint8Array | { path: string }, opts: RegisterOptions = {}): Promise<ModelVersion> {
    validateModelName(name);
    if (opts.alias !== undefined) validateAliasName(opts.alias);
    validateTags(opts.tags);
    validateMetrics(opts.metrics);
    validateTags(opts.lineage, 'lineage');

    const bytes = model instanceof Uint8Array ? model : await readModelFile(model.path);
    const signature = await this.inspect(name, bytes);
    const refInfo =
      opts.reference === undefined ? undefined : await inspectReference(opts.reference.path, opts.reference.labelColumn);
    const source = opts.source ?? (model instanceof Uint8Array ? null : basename(model.path));

    return this.writes.run(async () => {
      const artifact = await this.artifacts.put(bytes);
      let reference: ReferenceDataset | null = null;
      if (opts.reference !== undefined && refInfo !== undefined) {
        const blob = await this.artifacts.putFile(opts.reference.path);
        reference = { ...blob, ...refInfo, labelColumn: opts.reference.labelColumn ?? null };
      }
      let mv: ModelVersion;
      try {
        mv = await this.store.createVersion({
          model: name,
          sha256: artifact.sha256,
          sizeBytes: artifact.sizeBytes,
          description: opts.description ?? '',
          tags: opts.tags ?? {},
          metrics: opts.metrics ?? {},
          signature,
          source,
          lineage: opts.lineage ?? {},
          reference,
        });
      } catch (e) {
        await this.collect([artifact.sha256, reference?.sha256]);
        throw e;
      }
      if (opts.alias !== undefined) await this.store.setAlias(name, opts.alias, mv.version, opts.actor ?? null);
      return mv;
    });
  }

  /** The version a reference names: its number, its alias, else the champion, else the newest. */
  async resolve(ref: ModelRef | string): Promise<ModelVersion> {
    const r = typeof ref === 'string' ? parseModelRef(ref) : ref;
    if (r.version !== undefined && r.alias !== undefined) {
      throw errors.badRequest(`give a version or an alias for model '${r.name}', not both`, 'ref');
    }
    const model = await this.store.getModel(r.name);
    if (model === undefined) throw missing.model(r.name);
    let version: number;
    if (r.version !== undefined) {
      version = r.version;
    } else if (r.alias !== undefined) {
      const aliased = model.aliases[r.alias];
      if (aliased === undefined) throw missing.alias(r.name, r.alias);
      version = aliased;
    } else {
      const latest = model.aliases[DEFAULT_ALIAS] ?? model.latestVersion;
      if (latest === null) throw errors.notFound(`model '${r.name}' has no versions`);
      version = latest;
    }
    const mv = await this.store.getVersion(r.name, version);
    if (mv === undefined) throw missing.version(r.name, version);
    return mv;
  }

  /** The version's model bytes, verified against its SHA-256. */
  async loadArtifact(mv: ModelVersion): Promise<Uint8Array> {
    return this.artifacts.get(mv.sha256);
  }

  /** A local path to the version's verified reference dataset; NOT_FOUND if it has none. */
  async referencePath(mv: ModelVersion): Promise<string> {
    if (mv.reference === null) throw errors.notFound(`version ${mv.version} of '${mv.model}' has no reference dataset`);
    return this.artifacts.localPath(mv.reference.sha256);
  }

  /** All models, by name. */
  async listModels(): Promise<Model[]> {
    return this.store.listModels();
  }

  /** The model, or undefined. */
  async getModel(name: string): Promise<Model | undefined> {
    return this.store.getModel(name);
  }

  /** The model's versions, ascending; NOT_FOUND for an unknown model. */
  async listVersions(name: string): Promise<ModelVersion[]> {
    return this.store.listVersions(name);
  }

  /** Points the alias at the version. */
  async setAlias(name: string, alias: string, version: number, actor?: string | null): Promise<AliasEvent> {
    validateVersionNumber(version);
    return this.store.setAlias(name, alias, version, actor ?? null);
  }

  /** Removes the alias (and its rollback history). */
  async deleteAlias(name: string, alias: string, actor?: string | null): Promise<AliasEvent> {
    return this.store.deleteAlias(name, alias, actor ?? null);
  }

  /** Moves the alias back to the version it pointed to before. */
  async rollback(name: string, alias = DEFAULT_ALIAS, actor?: string | null): Promise<AliasEvent> {
    return this.store.rollbackAlias(name, alias, actor ?? null);
  }

  /** Alias moves, newest first. */
  async aliasHistory(name: string, alias?: string): Promise<AliasEvent[]> {
    return this.store.aliasHistory(name, alias);
  }

  /** Deletes a version (refused while aliased) and any blob no other version uses. */
  async deleteVersion(name: string, version: number): Promise<void> {
    await this.writes.run(async () => {
      const mv = await this.store.getVersion(name, version);
      await this.store.deleteVersion(name, version); // NOT_FOUND / CONFLICT come from here
      if (mv !== undefined) await this.collect([mv.sha256, mv.reference?.sha256]);
    });
  }

  /** Deletes a model with all its versions (refused while it has aliases) and their unshared blobs. */
  async deleteModel(name: string): Promise<void> {
    await this.writes.run(async () => {
      const versions = await this.store.listVersions(name);
      await this.store.deleteModel(name);
      await this.collect(versions.flatMap((v) => [v.sha256, v.reference?.sha256]));
    });
  }

  /** Sets the model's description. */
  async setModelDescription(name: string, description: string): Promise<Model> {
    return this.store.setModelDescription(name, description);
  }

  /** Sets a model tag. */
  async setModelTag(name: string, key: string, value: string): Promise<void> {
    return this.store.setModelTag(name, key, value);
  }

  /** Removes a model tag. */
  async deleteModelTag(name: string, key: string): Promise<void> {
    return this.store.deleteModelTag(name, key);
  }

  /** Sets a version's description. */
  async setVersionDescription(name: string, version: number, description: string): Promise<ModelVersion> {
    return this.store.setVersionDescription(name, version, description);
  }

  /** Sets a version tag. */
  async setVersionTag(name: string, version: number, key: string, value: string): Promise<void> {
    return this.store.setVersionTag(name, version, key, value);
  }

  /** Removes a version tag. */
  async deleteVersionTag(name: string, version: number, key: string): Promise<void> {
    return this.store.deleteVersionTag(name, version, key);
  }

  /** Records a metric on a version (e.g. an evaluation result); overwrites the key. */
  async setVersionMetric(name: string, version: number, key: string, value: number): Promise<void> {
    return this.store.setVersionMetric(name, version, key, value);
  }

  /** Runs the runtime's check; anything it throws becomes INVALID_MODEL with its message. */
  private async inspect(name: string, bytes: Uint8Array): Promise<Signature> {
    try {
      return await this.runtime.inspect(bytes);
    } catch (e) {
      if (isBerthError(e) && e.kind === 'INVALID_MODEL') throw e;
      const reason = e instanceof Error ? e.message : String(e);
      throw errors.invalidModel(`model '${name}' is not a valid ONNX model: ${reason}`, e);
    }
  }

  /** Deletes the blobs that no version references any more. Call while holding `writes`. */
  private async collect(shas: (string | undefined)[]): Promise<void> {
    for (const sha of new Set(shas)) {
      if (sha !== undefined && !(await this.store.artifactInUse(sha))) await this.artifacts.delete(sha);
    }
  }
}

async function readModelFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw errors.badRequest(`model file '${path}' not found`, 'model');
    if (code === 'EISDIR') throw errors.badRequest(`model file '${path}' is a directory`, 'model');
    throw e;
  }
}

function isValid(check: () => void): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}
