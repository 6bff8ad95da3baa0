import { join } from 'node:path';
import { errors } from '../errors.js';
import { assignVariant, unitPoint } from './assign.js';
import { buildReport, type ExperimentReport } from './report.js';
import { SqliteExperimentStore, type SqliteExperimentStoreOptions } from './sqlite.js';
import type { Experiment, ExperimentInput, ExperimentStore, Exposure, OutcomeResult } from './types.js';
import { parseOutcomes, parseVersionRef, type VersionResolver, validateExperiment } from './validate.js';

/** Which experiment a request joined, which variant it got and the model version that serves it. */
export interface RoutedRequest {
  experiment: string;
  variant: string;
  model: string;
  version: number;
}

/** Request headers as Node gives them. */
export type Headers = Record<string, string | string[] | undefined>;

/** Options of the experiments service. */
export interface ExperimentsOptions {
  /** Resolves `MODEL:VERSION` / `MODEL@alias` to a registered version (the core's Registry fits). */
  registry?: { resolve(ref: string): Promise<{ model: string; version: number }> };
  /** Overrides `registry`; without either, `MODEL:VERSION` is parsed and not checked. */
  resolve?: VersionResolver;
  /** How often to look for experiments created or stopped by another process, ms (default 1000). */
  reloadMs?: number;
  /**
   * Exposures are handed to the store in batches at most this long after the request, ms (default
   * 500). Reports and outcomes in this process see them at once (they flush first); other processes
   * reading the database, within this delay.
   */
  flushMs?: number;
  /** Where the store reports lost exposures (default: stderr). */
  logger?: SqliteExperimentStoreOptions['logger'];
}

/** A running experiment as `route` consults it: the split's cumulative edges and one shared answer per variant. */
interface Active {
  experiment: Experiment;
  header: string;
  total: number;
  edges: number[];
  routes: RoutedRequest[];
  /** Exposures routed and not yet handed to the store. */
  pending: Exposure[];
}

function activate(e: Experiment): Active {
  let edge = 0;
  const edges = e.variants.map((v) => (edge += v.weight));
  const routes = e.variants.map((v) => Object.freeze({ experiment: e.name, variant: v.name, model: v.model, version: v.version }));
  return { experiment: e, header: e.unit_header, total: edge, edges, routes, pending: [] };
}

// A write's commit costs about one WAL page per B-tree page it touches, and new units land all over
// exp_units: fewer, larger batches amortise that (2048 exposures per batch cost ~30% more CPU per
// exposure than 8192). Encoding a batch costs the event loop well under 1 ms (the SQLite store
// writes it on its writer thread), and reports and outcomes flush first, so they never miss one.
const FLUSH_AT = 8192;
const FLUSH_MS = 500;

/**
 * Experiments over a store: create/list/show/stop/report, outcomes, and `route`, the hook the
 * inference path calls to put a request in an experiment's variant.
 */
export class Experiments {
  private active = new Map<string, Active>();
  /** Experiments with exposures not yet handed to the store (an experiment stopped meanwhile stays here until then). */
  private pending = new Set<Active>();
  private pendingCount = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly reloadTimer: NodeJS.Timeout;
  private readonly resolve: VersionResolver;

  private constructor(
    readonly store: ExperimentStore,
    private readonly opts: ExperimentsOptions,
  ) {
    const registry = opts.registry;
    this.resolve =
      opts.resolve ??
      (registry
        ? async (ref) => {
            const mv = await registry.resolve(ref);
            return { name: mv.model, version: mv.version };
          }
        : parseVersionRef);
    this.reloadTimer = setInterval(() => {
      if (this.store.changedElsewhere()) void this.refresh().catch(() => {});
    }, opts.reloadMs ?? 1000).unref();
  }

  /** Opens the service over a store (its active experiments are loaded before it returns). */
  static async open(store: ExperimentStore, opts: ExperimentsOptions = {}): Promise<Experiments> {
    const x = new Experiments(store, opts);
    await x.refresh();
    return x;
  }

  /** Reloads the running experiments that `route` consults. */
  async refresh(): Promise<void> {
    const next = new Map<string, Active>();
    for (const e of await this.store.list()) {
      if (e.status !== 'running') continue;
      // keep the entry of an experiment that did not change: its queue and shared answers stay valid
      const old = this.active.get(e.model);
      next.set(e.model, old !== undefined && old.experiment.name === e.name ? old : activate(e));
    }
    this.active = next;
  }

  /**
   * The routing hook, synchronous and cheap: for a request to `model` (no explicit version) that
   * carries the unit header of a running experiment on it, the variant by hash and the version that
   * serves it. The exposure (unit, and request id -> unit) is queued and written in a batch.
   */
  route(model: string, headers: Headers, requestId?: string): RoutedRequest | undefined {
    const a = this.active.get(model);
    if (a === undefined) return undefined;
    const raw = headers[a.header];
    const unitId = typeof raw === 'string' ? raw : raw?.[0];
    if (unitId === undefined || unitId === '') return undefined;
    // assignVariant's rule over the precomputed edges (same sums in the same order, so the same answer)
    const x = unitPoint(a.experiment.name, unitId) * a.total;
    let i = 0;
    while (i < a.edges.length - 1 && !(x < (a.edges[i] as number))) i++;
    const routed = a.routes[i] as RoutedRequest;
    if (a.pending.length === 0) this.pending.add(a);
    a.pending.push(requestId === undefined ? { unitId, variant: routed.variant } : { unitId, variant: routed.variant, requestId });
    if (++this.pendingCount >= FLUSH_AT) void this.flush().catch(() => {});
    else this.flushTimer ??= setTimeout(() => void this.flush().catch(() => {}), this.opts.flushMs ?? FLUSH_MS).unref();
    return routed;
  }

  /**
   * Hands the queued exposures to the store and resolves once they, and every batch handed over
   * before, are written. The store takes successive batches in order (see ExperimentStore.expose).
   */
  flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const writes: Promise<void>[] = [this.flushing];
    for (const a of this.pending) {
      const exposures = a.pending;
      a.pending = [];
      writes.push(this.store.expose(a.experiment, exposures));
    }
    this.pending.clear();
    this.pendingCount = 0;
    const run = Promise.all(writes).then(() => {});
    this.flushing = run.catch(() => {});
    return run;
  }

  /** Creates and starts an experiment; one running experiment per model. */
  async create(input: ExperimentInput): Promise<Experiment> {
    const e = await validateExperiment(input, this.resolve, new Date().toISOString());
    const clash = (await this.store.list()).find((x) => x.status === 'running' && x.model === e.model);
    if (clash) throw errors.conflict(`model '${e.model}' already has a running experiment, '${clash.name}'; stop it first`);
    await this.store.create(e);
    await this.refresh();
    return e;
  }

  /** Every experiment, oldest first. */
  list(): Promise<Experiment[]> {
    return this.store.list();
  }

  /** One experiment, or a not-found error. */
  async show(name: string): Promise<Experiment> {
    const e = await this.store.get(name);
    if (!e) throw errors.notFound(`experiment '${name}' not found`);
    return e;
  }

  /** Stops assigning new units (outcomes for units already in still count). */
  async stop(name: string): Promise<Experiment> {
    await this.show(name);
    await this.flush();
    const e = await this.store.stop(name, new Date().toISOString());
    await this.refresh();
    return e;
  }

  /** The report, taking one sequential look (the always-valid p-values are kept). */
  async report(name: string): Promise<ExperimentReport> {
    const e = await this.show(name);
    await this.flush();
    const { report, msprt } = buildReport(e, await this.store.totals(name));
    if (msprt.size) await this.store.saveMsprt(name, msprt);
    return report;
  }

  /**
   * Folds in a batch of outcomes (all or nothing on bad input). A unit's value is the maximum of its
   * outcomes for a binary metric (converted once is converted) and their sum for a continuous one.
   */
  async recordOutcomes(name: string, body: unknown): Promise<OutcomeResult> {
    const e = await this.show(name);
    const items = parseOutcomes(body, e.metric).map((o) => (o.unitId === undefined ? o : { ...o, variant: assignVariant(e, o.unitId) }));
    await this.flush();
    const result = await this.store.recordOutcomes(e, items, e.status === 'running');
    // every batch is a look of the sequential test
    const { msprt } = buildReport(e, await this.store.totals(name));
    if (msprt.size) await this.store.saveMsprt(name, msprt);
    return result;
  }

  /** Flushes pending exposures and closes the store. */
  async close(): Promise<void> {
    clearInterval(this.reloadTimer);
    await this.flush();
    await this.store.close();
  }
}

/** Opens the experiments service over `<home>/experiments.db`. */
export function openExperiments(opts: ExperimentsOptions & { home: string }): Promise<Experiments> {
  return Experiments.open(new SqliteExperimentStore(join(opts.home, 'experiments.db'), { logger: opts.logger }), opts);
}
