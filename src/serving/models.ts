import type { Logger } from 'pino';
import { BerthError, errors } from '../errors.js';
import type { ServerMetrics } from '../monitor/metrics.js';
import type { ModelVersion, Registry } from '../registry/index.js';
import { BatchingModel, type BatchingOptions, isBatchable, type LoadedModel, type ModelRuntime } from '../runtime/index.js';

/** How long a name -> version resolution is reused; alias moves made by another process show within this. */
const RESOLVE_TTL_MS = 1_000;

type Slot =
  | { state: 'loading'; promise: Promise<LoadedModel> }
  | { state: 'ready'; model: LoadedModel; loadedAt: string }
  | { state: 'failed'; error: BerthError };

export type ModelState = 'unloaded' | 'loading' | 'ready' | 'failed';

const key = (name: string, version: number) => `${name}:${version}`;

/** Keeps model versions loaded in the runtime and resolves the names clients send to versions. */
export class ModelManager {
  private readonly slots = new Map<string, Slot>();
  private readonly resolved = new Map<string, { mv: ModelVersion; until: number }>();

  constructor(
    private readonly registry: Registry,
    private readonly runtime: ModelRuntime,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    /** Join concurrent requests of batchable models into one run (false: never). */
    private readonly batching: BatchingOptions | false = false,
  ) {}

  /**
   * Resolves a model name and optional version string (as it appears in a URL) to a version.
   * Without a version: the alias `champion`, else the newest version.
   */
  async resolve(name: string, version?: string): Promise<ModelVersion> {
    const cacheKey = version === undefined ? name : key(name, Number(version));
    const hit = this.resolved.get(cacheKey);
    const now = Date.now();
    if (hit && hit.until > now) return hit.mv;
    let mv: ModelVersion;
    if (version === undefined) {
      mv = await this.registry.resolve({ name });
    } else {
      if (!/^[1-9][0-9]{0,9}$/.test(version)) throw errors.notFound(`model '${name}' has no version '${version}'`);
      mv = await this.registry.resolve({ name, version: Number(version) });
    }
    if (this.resolved.size > 10_000) this.resolved.clear();
    this.resolved.set(cacheKey, { mv, until: now + RESOLVE_TTL_MS });
    return mv;
  }

  /** Forgets cached resolutions (after an alias move or a delete made through this process). */
  invalidate(): void {
    this.resolved.clear();
  }

  /** The loading state of a version. */
  state(mv: ModelVersion): ModelState {
    return this.slots.get(key(mv.model, mv.version))?.state ?? 'unloaded';
  }

  /** The load error of a failed version, if any. */
  failure(mv: ModelVersion): BerthError | undefined {
    const slot = this.slots.get(key(mv.model, mv.version));
    return slot?.state === 'failed' ? slot.error : undefined;
  }

  /** Returns the loaded model, loading it first if needed; a failed load throws its error again. */
  acquire(mv: ModelVersion): Promise<LoadedModel> | LoadedModel {
    const slot = this.slots.get(key(mv.model, mv.version));
    if (slot?.state === 'ready') return slot.model;
    if (slot?.state === 'loading') return slot.promise;
    if (slot?.state === 'failed') throw slot.error;
    return this.load(mv);
  }

  /** Starts loading a version (if it is not loaded or loading) and returns at once. */
  ensureLoading(mv: ModelVersion): void {
    if (this.slots.has(key(mv.model, mv.version))) return;
    this.load(mv).catch(() => {});
  }

  /** Loads a version, retrying a failed one. */
  load(mv: ModelVersion): Promise<LoadedModel> {
    const k = key(mv.model, mv.version);
    const existing = this.slots.get(k);
    if (existing?.state === 'ready') return Promise.resolve(existing.model);
    if (existing?.state === 'loading') return existing.promise;
    const labels = { model: mv.model, version: String(mv.version) };
    const started = performance.now();
    const promise = (async () => {
      const bytes = await this.registry.loadArtifact(mv);
      const model = await this.runtime.load(bytes);
      if (!this.batching || !isBatchable(model.signature)) return model;
      const sizes = this.metrics.batchSize.child(labels.model, labels.version);
      return new BatchingModel(model, this.batching, (rows) => sizes.observe(rows));
    })().then(
      (model) => {
        this.slots.set(k, { state: 'ready', model, loadedAt: new Date().toISOString() });
        this.metrics.modelsLoaded.inc();
        this.metrics.modelLoads.inc({ ...labels, result: 'ok' });
        this.log.info({ ...labels, ms: Math.round(performance.now() - started) }, 'model loaded');
        return model;
      },
      (e: unknown) => {
        const cause = e instanceof Error ? e.message : String(e);
        const error =
          e instanceof BerthError && e.status !== 500
            ? e
            : errors.notReady(`model ${k} could not be loaded: ${cause}`);
        this.slots.set(k, { state: 'failed', error });
        this.metrics.modelLoads.inc({ ...labels, result: 'error' });
        this.log.error({ ...labels, err: cause }, 'model load failed');
        throw error;
      },
    );
    this.slots.set(k, { state: 'loading', promise });
    return promise;
  }

  /** Unloads a version; it will be loaded again on its next request. */
  async unload(name: string, version: number): Promise<boolean> {
    const k = key(name, version);
    const slot = this.slots.get(k);
    if (!slot) return false;
    this.slots.delete(k);
    if (slot.state === 'ready') {
      this.metrics.modelsLoaded.dec();
      await slot.model.dispose();
    }
    return true;
  }

  /** Loads the default version (champion, else newest) of every registered model; failures are logged, not thrown. */
  async preload(): Promise<void> {
    const models = await this.registry.listModels();
    await Promise.allSettled(
      models.map(async (m) => {
        const mv = await this.resolve(m.name);
        await this.load(mv);
      }),
    );
  }

  /** Versions currently held, with their state. */
  list(): { model: string; version: number; state: ModelState }[] {
    return [...this.slots.entries()].map(([k, slot]) => {
      const i = k.lastIndexOf(':');
      return { model: k.slice(0, i), version: Number(k.slice(i + 1)), state: slot.state };
    });
  }

  /** Releases every loaded session. */
  async close(): Promise<void> {
    const all = [...this.slots.entries()];
    this.slots.clear();
    await Promise.allSettled(all.map(([, s]) => (s.state === 'ready' ? s.model.dispose() : undefined)));
  }
}
