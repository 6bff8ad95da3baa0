import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type {
  AliasEventView,
  Management,
  ModelDetailView,
  ModelView,
  RegisterInput,
  TokenView,
  VersionView,
} from '../api/index.js';
import type { Role } from '../auth/index.js';
import { ApiClient } from '../api/index.js';
import { BerthError } from '../errors.js';

/** Management over a remote server's /api/v1, for `--server URL --token T`. */
export class RemoteManagement implements Management {
  private readonly client: ApiClient;

  constructor(server: string, token?: string) {
    this.client = new ApiClient(server, token);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.client.call<T>(method, path, body);
  }

  private enc(s: string): string {
    return encodeURIComponent(s);
  }

  async listModels(): Promise<ModelView[]> {
    return (await this.call<{ models: ModelView[] }>('GET', '/api/v1/models')).models;
  }

  showModel(name: string): Promise<ModelDetailView> {
    return this.call('GET', `/api/v1/models/${this.enc(name)}`);
  }

  async showVersion(ref: string): Promise<VersionView> {
    const at = ref.indexOf('@');
    if (at > 0) return this.call('GET', `/api/v1/models/${this.enc(ref.slice(0, at))}/aliases/${this.enc(ref.slice(at + 1))}`);
    const colon = ref.lastIndexOf(':');
    if (colon > 0) return this.call('GET', `/api/v1/models/${this.enc(ref.slice(0, colon))}/versions/${this.enc(ref.slice(colon + 1))}`);
    const model = await this.showModel(ref);
    const version = model.aliases.champion ?? model.latest_version;
    const found = model.versions.find((v) => v.version === version);
    if (!found) throw new BerthError('NOT_FOUND', `model '${ref}' has no versions`);
    return found;
  }

  async register(name: string, input: RegisterInput): Promise<VersionView> {
    const bytes = input.model instanceof Uint8Array ? input.model : await readFile(input.model.path);
    let reference: { data: string; format: string; label_column?: string } | undefined;
    if (input.reference) {
      const data = await readFile(input.reference.path);
      const isParquet = data.subarray(0, 4).toString('latin1') === 'PAR1' || extname(input.reference.path) === '.parquet';
      reference = { data: data.toString('base64'), format: isParquet ? 'parquet' : 'csv' };
      if (input.reference.labelColumn) reference.label_column = input.reference.labelColumn;
    }
    return this.call('POST', `/api/v1/models/${this.enc(name)}/versions`, {
      artifact: Buffer.from(bytes).toString('base64'),
      alias: input.alias,
      description: input.description,
      tags: input.tags,
      metrics: input.metrics,
      lineage: input.lineage,
      source: input.source,
      reference,
    });
  }

  setAlias(name: string, alias: string, version: number): Promise<AliasEventView> {
    return this.call('PUT', `/api/v1/models/${this.enc(name)}/aliases/${this.enc(alias)}`, { version });
  }

  deleteAlias(name: string, alias: string): Promise<AliasEventView> {
    return this.call('DELETE', `/api/v1/models/${this.enc(name)}/aliases/${this.enc(alias)}`);
  }

  rollback(name: string, alias: string): Promise<AliasEventView> {
    return this.call('POST', `/api/v1/models/${this.enc(name)}/aliases/${this.enc(alias)}/rollback`);
  }

  async aliasHistory(name: string, alias?: string): Promise<AliasEventView[]> {
    const q = alias ? `?alias=${this.enc(alias)}` : '';
    return (await this.call<{ events: AliasEventView[] }>('GET', `/api/v1/models/${this.enc(name)}/alias-history${q}`))
      .events;
  }

  async deleteVersion(name: string, version: number): Promise<void> {
    await this.call('DELETE', `/api/v1/models/${this.enc(name)}/versions/${version}`);
  }

  createToken(role: Role, name?: string): Promise<TokenView & { token: string }> {
    return this.call('POST', '/api/v1/tokens', { role, ...(name ? { name } : {}) });
  }

  async listTokens(): Promise<TokenView[]> {
    return (await this.call<{ tokens: TokenView[] }>('GET', '/api/v1/tokens')).tokens;
  }

  revokeToken(id: string): Promise<TokenView> {
    return this.call('DELETE', `/api/v1/tokens/${this.enc(id)}`);
  }
}
