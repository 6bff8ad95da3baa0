import type { Role, Tokens } from '../auth/index.js';
import { errors } from '../errors.js';
import { type ModelVersion, parseModelRef, type Registry } from '../registry/index.js';
import {
  type AliasEventView,
  aliasEventView,
  type ModelDetailView,
  type ModelView,
  modelView,
  type TokenView,
  tokenView,
  type VersionView,
  versionView,
} from './views.js';

export interface RegisterInput {
  /** The ONNX file, as a path (local) or bytes (uploaded). */
  model: { path: string } | Uint8Array;
  alias?: string;
  description?: string;
  tags?: Record<string, string>;
  metrics?: Record<string, number>;
  lineage?: Record<string, string>;
  source?: string;
  /** A reference dataset already on this machine's disk (uploads are written to a temp file first). */
  reference?: { path: string; labelColumn?: string };
}

/**
 * The management operations, in the JSON shapes of the REST API. The REST routes, the local CLI and
 * (through HTTP) the remote CLI all go through this one interface.
 */
export interface Management {
  listModels(): Promise<ModelView[]>;
  showModel(name: string): Promise<ModelDetailView>;
  /** `NAME:VERSION` or `NAME@ALIAS` (or a bare NAME: champion, else newest). */
  showVersion(ref: string): Promise<VersionView>;
  register(name: string, input: RegisterInput, actor?: string | null): Promise<VersionView>;
  setAlias(name: string, alias: string, version: number, actor?: string | null): Promise<AliasEventView>;
  deleteAlias(name: string, alias: string, actor?: string | null): Promise<AliasEventView>;
  rollback(name: string, alias: string, actor?: string | null): Promise<AliasEventView>;
  aliasHistory(name: string, alias?: string): Promise<AliasEventView[]>;
  deleteVersion(name: string, version: number): Promise<void>;
  createToken(role: Role, name?: string): Promise<TokenView & { token: string }>;
  listTokens(): Promise<TokenView[]>;
  revokeToken(id: string): Promise<TokenView>;
}

/** Management over the in-process core. */
export class LocalManagement implements Management {
  constructor(
    private readonly registry: Registry,
    private readonly tokens: Tokens,
    /** Called after any change that moves what a name resolves to. */
    private readonly onChange: () => void = () => {},
    /** Work a new version needs before registration returns (its reference predictions); must not throw. */
    private readonly afterRegister: (mv: ModelVersion) => Promise<void> = async () => {},
  ) {}

  async listModels(): Promise<ModelView[]> {
    return (await this.registry.listModels()).map(modelView);
  }

  async showModel(name: string): Promise<ModelDetailView> {
    const model = await this.registry.getModel(name);
    if (!model) throw errors.notFound(`no model named '${name}'`);
    const versions = await this.registry.listVersions(name);
    return { ...modelView(model), versions: versions.map((v) => versionView(v, model.aliases)) };
  }

  async showVersion(ref: string): Promise<VersionView> {
    const parsed = parseModelRef(ref);
    const mv = await this.registry.resolve(parsed);
    const model = await this.registry.getModel(mv.model);
    return versionView(mv, model?.aliases);
  }

  async register(name: string, input: RegisterInput, actor?: string | null): Promise<VersionView> {
    const mv = await this.registry.register(name, input.model, {
      alias: input.alias,
      description: input.description,
      tags: input.tags,
      metrics: input.metrics,
      lineage: input.lineage,
      source: input.source,
      reference: input.reference,
      actor: actor ?? undefined,
    });
    await this.afterRegister(mv);
    this.onChange();
    const model = await this.registry.getModel(name);
    return versionView(mv, model?.aliases);
  }

  async setAlias(name: string, alias: string, version: number, actor?: string | null): Promise<AliasEventView> {
    const e = await this.registry.setAlias(name, alias, version, actor);
    this.onChange();
    return aliasEventView(e);
  }

  async deleteAlias(name: string, alias: string, actor?: string | null): Promise<AliasEventView> {
    const e = await this.registry.deleteAlias(name, alias, actor);
    this.onChange();
    return aliasEventView(e);
  }

  async rollback(name: string, alias: string, actor?: string | null): Promise<AliasEventView> {
    const e = await this.registry.rollback(name, alias, actor);
    this.onChange();
    return aliasEventView(e);
  }

  async aliasHistory(name: string, alias?: string): Promise<AliasEventView[]> {
    return (await this.registry.aliasHistory(name, alias)).map(aliasEventView);
  }

  async deleteVersion(name: string, version: number): Promise<void> {
    await this.registry.deleteVersion(name, version);
    this.onChange();
  }

  async createToken(role: Role, name?: string): Promise<TokenView & { token: string }> {
    const { secret, token } = await this.tokens.create(role, name);
    return { ...tokenView(token), token: secret };
  }

  async listTokens(): Promise<TokenView[]> {
    return (await this.tokens.list()).map(tokenView);
  }

  async revokeToken(id: string): Promise<TokenView> {
    return tokenView(await this.tokens.revoke(id));
  }
}
