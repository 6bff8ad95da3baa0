import { LocalManagement } from './api/index.js';
import { PostgresTokenStore, SqliteTokenStore, type TokenStore, Tokens } from './auth/index.js';
import { type BerthConfig, resolveConfig } from './config.js';
import { errors } from './errors.js';
import { LocalArtifactStore, openRegistryStore, Registry } from './registry/index.js';
import { inspectOnnx, OnnxRuntime } from './runtime/index.js';

/** The in-process core that the server, the CLI and the dashboard are thin shells over. */
export interface BerthCore {
  config: BerthConfig;
  registry: Registry;
  tokens: Tokens;
  runtime: OnnxRuntime;
  management: LocalManagement;
  /** Called by front ends after a change that moves what a model name resolves to. */
  onChange(listener: () => void): void;
  close(): Promise<void>;
}

/** Opens the token store that lives beside the registry metadata (same URI). */
async function openTokenStore(uri: string): Promise<TokenStore> {
  if (uri === 'sqlite::memory:') return new SqliteTokenStore(':memory:');
  if (uri.startsWith('sqlite://')) return new SqliteTokenStore(uri.slice('sqlite://'.length));
  if (uri.startsWith('postgres://') || uri.startsWith('postgresql://')) return PostgresTokenStore.open(uri);
  throw errors.badRequest(`unsupported store URI '${uri}' (available: sqlite://PATH, postgres://…)`, 'store');
}

/** Opens the stores under the configured home and wires the core services together. */
export async function openCore(opts: { home?: string; storeUri?: string } = {}): Promise<BerthCore> {
  const config = resolveConfig(opts);
  const store = await openRegistryStore(config.storeUri);
  const tokenStore = await openTokenStore(config.storeUri).catch(async (e: unknown) => {
    await store.close(); // a pool left open would keep the process alive
    throw e;
  });
  const artifacts = new LocalArtifactStore(config.artifactsDir);
  const runtime = new OnnxRuntime();
  const registry = new Registry(store, artifacts, { inspect: inspectOnnx });
  const tokens = new Tokens(tokenStore);
  const listeners: (() => void)[] = [];
  const management = new LocalManagement(
    registry,
    tokens,
    () => {
      for (const l of listeners) l();
    },
    // concept drift compares live predictions with the model's own on its reference: computed at
    // registration (imported lazily: most commands never register). On failure live monitoring
    // computes them on first use instead, so registration does not fail for it.
    async (mv) => {
      if (mv.reference === null) return;
      const { precomputeReferencePredictions } = await import('./monitor/index.js');
      await precomputeReferencePredictions(registry, runtime, config.home, mv).catch(() => false);
    },
  );
  return {
    config,
    registry,
    tokens,
    runtime,
    management,
    onChange: (l) => listeners.push(l),
    close: async () => {
      await store.close();
      await tokenStore.close();
    },
  };
}
