import type { Logger } from 'pino';
import { BerthError, errors } from '../errors.js';
import type { ServerMetrics } from '../monitor/metrics.js';
import type { ModelVersion, Registry } from '../registry/index.js';
import {
  type BatchingOptions,
  BatchingModel,
  CachingModel,
  DEFAULT_MAX_QUEUE_SIZE,
  type LoadedModel,
  type ModelRuntime,
} from '../runtime/index.js';
import { DEFAULT_SERVING_CONFIG, type ModelServingConfig, servingConfig } from './model-config.js';

/** How long a name -> version resolution is reused; alias moves made by another process show within this. */
const RESOLVE_TTL_MS = 1_000;

/** A loaded version: the runtime's model behind its queue, behind the cache when it has one. */
interface Served {
  /** What requests call: the cache when on, else the queue. */
  model: LoadedModel;
  queue: BatchingModel;
  config: ModelServingConfig;
  /** The version object whose tags `config` was last checked against. */
  checked: ModelVersion;
}

type Slot =
  | { state: 'loading'; promise: Promise<LoadedModel> }
  | ({ state: 'ready'; loadedAt: string } & Served)
  | { state: 'failed'; error: BerthError; mv: ModelVersion };

export type ModelState = 'unloaded' | 'loading' | 'ready' | 'failed';

const key = (name: string, version: number) => `${name}:${version}`;

const batchingOf = (c: ModelServingConfig): BatchingOptions => ({
  maxBatchSize: c.maxBatchSize,
  maxQueueDelayUs: c.maxQueueDelayUs,
  preferredBatchSizes: c.preferredBatchSizes,
  maxQueueSize: c.maxQueueSize,
});

/** Keeps model versions loaded in the runtime and resolves the names clients send to versions. */
export class ModelManager {
  private readonly slots = new Map<string, Slot>();
  private readonly resolved = new Map<string, { mv: ModelVersion; until: number }>();
  /** Serving config for versions whose tags set none. */
  private readonly defaults: ModelServingConfig;

  constructor(
    private readonly registry: Registry,
    /** Where models run (ONNX Runtime on this thread, or a worker pool). */
    readonly runtime: ModelRuntime,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
    /** Server-wide batching defaults, which version tags override; false runs every request on its own, whatever the tags. */
    private readonly batching: BatchingOptions | false = false,
  ) {
    const b = batching || { maxBatchSize: 1, maxQueueDelayUs: 0 };
    this.defaults = {
      ...DEFAULT_SERVING_CONFIG,
      maxBatchSize: b.maxBatchSize,
      maxQueueDelayUs: b.maxQueueDelayUs,
      preferredBatchSizes: b.preferredBatchSizes ?? [],
      maxQueueSize: b.maxQueueSize ?? DEFAULT_MAX_QUEUE_SIZE,
    };
  }

  /** A version's serving config: its tags over the server's defaults. */
  configOf(mv: ModelVersion): ModelServingConfig {
    const c = servingConfig(mv, this.defaults);
    return this.batching ? c : { ...c, maxBatchSize: 1 };
  }

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
    if (slot?.state === 'ready') {
      if (slot.checked !== mv) this.reconfigure(slot, mv);
      return slot.model;
    }
    if (slot?.state === 'loading') return slot.promise;
    if (slot?.state === 'failed') {
      // invalid serving tags fail the load; fixed tags (a fresher version object) load it again
      if (slot.error.kind !== 'BAD_REQUEST' || slot.mv === mv) throw slot.error;
      this.slots.delete(key(mv.model, mv.version));
    }
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
      const config = this.configOf(mv);
      const bytes = await this.registry.loadArtifact(mv);
      return this.serve(mv, await this.runtime.load(bytes), config);
    })().then(
      (served) => {
        const model = served.model;
        this.slots.set(k, { state: 'ready', loadedAt: new Date().toISOString(), ...served });
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
        this.slots.set(k, { state: 'failed', error, mv });
        this.metrics.modelLoads.inc({ ...labels, result: 'error' });
        this.log.error({ ...labels, err: cause }, 'model load failed');
        throw error;
      },
    );
    this.slots.set(k, { state: 'loading', promise });
    return promise;
  }

  /** Puts a loaded model behind its queue (and cache), with metrics for every decision. */
  private serve(mv: ModelVersion, base: LoadedModel, config: ModelServingConfig): Served {
    const m = this.metrics;
    const labels = [mv.model, String(mv.version)] as const;
    const sizes = m.batchSize.child(...labels);
    const queued = m.batchQueue.child(...labels);
    const computed = m.batchCompute.child(...labels);
    const rejected = m.batchRejected.child(...labels);
    const queue = new BatchingModel(base, batchingOf(config), {
      batch: (rows) => sizes.observe(rows),
      queued: (s) => queued.observe(s),
      computed: (s) => computed.observe(s),
      rejected: () => rejected.value++,
    });
    return { model: this.cached(mv, queue, config), queue, config, checked: mv };
  }

  /** The cache in front of the queue (outermost, so hits skip the queue), when the config asks for one. */
  private cached(mv: ModelVersion, queue: BatchingModel, config: ModelServingConfig): LoadedModel {
    if (config.cacheMaxBytes <= 0) return queue;
    const hits = this.metrics.cacheHits.child(mv.model, String(mv.version));
    const misses = this.metrics.cacheMisses.child(mv.model, String(mv.version));
    return new CachingModel(queue, {
      maxBytes: config.cacheMaxBytes,
      versionKey: `${mv.model}:${mv.version}:${mv.sha256}`,
      onHit: () => hits.value++,
      onMiss: () => misses.value++,
    });
  }

  /** Applies changed serving tags to a loaded version in place (within the resolve TTL of the change). */
  private reconfigure(served: Served, mv: ModelVersion): void {
    served.checked = mv;
    let config: ModelServingConfig;
    try {
      config = this.configOf(mv);
    } catch (e) {
      this.log.warn({ model: mv.model, version: mv.version, err: (e as Error).message }, 'invalid serving tags ignored');
      return;
    }
    const old = served.config;
    if (JSON.stringify(config) === JSON.stringify(old)) return;
    served.queue.configure(batchingOf(config));
    // a new cache starts empty; turning it off drops it (its dispose would release the model)
    if (config.cacheMaxBytes !== old.cacheMaxBytes) served.model = this.cached(mv, served.queue, config);
    served.config = config;
    this.log.info({ model: mv.model, version: mv.version, config }, 'serving config changed');
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
