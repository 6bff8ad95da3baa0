import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errors } from '../errors.js';
import { type FeatureRepo, loadRepoFile } from './definitions.js';
import { compileLayout, type Layout, parseRefs } from './layout.js';
import { materializeViews, type MaterializeReport, type ProgressFn } from './materialize.js';
import { checkRepoSources, historicalFeatures, type HistoricalResult } from './offline/index.js';
import { checkEntities, type OnlineFeaturesResponse, readOnline, readOnlineJson } from './online-read.js';
import { type OnlineStore, openOnlineStore } from './online/index.js';
import { type PushRequest, planPush } from './push.js';
import { FeatureRegistry, type PlanItem } from './registry.js';

export interface FeatureStoreOptions {
  /** BERTH_HOME: the registry lives in `<home>/features.db`. */
  home: string;
  /** Online store URI (`sqlite://PATH`, `redis://HOST:PORT?prefix=P`); env BERTH_ONLINE_STORE; default `<home>/online.db`. */
  onlineStore?: string;
}

/** What to read online: a feature list or a service, and entity columns keyed by join key. */
export interface OnlineFeaturesRequest {
  features?: string[];
  service?: string;
  entities: Record<string, unknown[]>;
  fullFeatureNames?: boolean;
}

export interface ApplyResult {
  plan: PlanItem[];
  changed: boolean;
}

const LAYOUT_CACHE_MAX = 1000;

/**
 * The feature store: applied definitions, offline retrieval, materialization and online reads.
 * Service layouts are compiled when definitions load (at open and after apply), never per request.
 */
export class FeatureStore {
  private repo: FeatureRepo;
  private generation: number;
  private services = new Map<string, [Layout, Layout]>();
  private adhoc = new Map<string, Layout>();

  constructor(
    readonly registry: FeatureRegistry,
    readonly online: OnlineStore,
    readonly home: string,
  ) {
    this.repo = withPushLogs(registry.load(), home);
    this.generation = registry.generation();
    this.compile();
  }

  private compile(): void {
    this.services.clear();
    this.adhoc.clear();
    for (const s of this.repo.feature_services) {
      const refs = s.features;
      this.services.set(s.name, [compileLayout(this.repo, refs, false), compileLayout(this.repo, refs, true)]);
    }
  }

  /** The applied definitions. */
  definitions(): FeatureRepo {
    return this.repo;
  }

  /** Reloads definitions when another process applied new ones (cheap; call it off the hot path). */
  reloadIfChanged(): boolean {
    const g = this.registry.generation();
    if (g === this.generation) return false;
    this.repo = withPushLogs(this.registry.load(), this.home);
    this.generation = g;
    this.compile();
    return true;
  }

  /** What applying a definitions file would do, without doing it. */
  async plan(file: string): Promise<PlanItem[]> {
    const repo = loadRepoFile(file);
    await checkRepoSources(repo);
    return this.registry.plan(repo);
  }

  /** Validates a definitions file and applies it idempotently; removed or reshaped views lose their online rows. */
  async apply(file: string): Promise<ApplyResult> {
    const repo = loadRepoFile(file);
    await checkRepoSources(repo);
    const before = this.registry.load();
    const plan = this.registry.apply(repo);
    for (const p of plan) {
      if (p.kind !== 'feature_view' || (p.action !== 'remove' && p.action !== 'change')) continue;
      const old = before.feature_views.find((v) => v.name === p.name);
      const now = repo.feature_views.find((v) => v.name === p.name);
      const reshaped = !now || JSON.stringify(old?.features) !== JSON.stringify(now.features) || JSON.stringify(old?.entities) !== JSON.stringify(now.entities);
      if (reshaped) {
        await this.online.deleteView(p.name);
        this.registry.resetMaterialized(p.name);
      }
    }
    this.reloadIfChanged();
    return { plan, changed: plan.some((p) => p.action !== 'unchanged') };
  }

  /** The layout of a service or a feature list (cached; compiled once per distinct list). */
  layout(req: { features?: unknown; service?: unknown; fullFeatureNames?: boolean }, serviceField = 'feature_service'): Layout {
    const full = req.fullFeatureNames === true;
    if (req.service !== undefined && req.features !== undefined) throw errors.badRequest(`give either features or ${serviceField}, not both`, serviceField);
    if (req.service !== undefined) {
      if (typeof req.service !== 'string') throw errors.badRequest(`${serviceField} must be a string`, serviceField);
      const pair = this.services.get(req.service);
      if (!pair) throw errors.badRequest(`unknown feature service '${req.service}'`, serviceField);
      return full ? pair[1] : pair[0];
    }
    if (req.features === undefined) throw errors.badRequest(`give features (a list of 'view:feature') or ${serviceField}`, 'features');
    const cacheKey = Array.isArray(req.features) ? `${full ? 1 : 0}${req.features.join(',')}` : undefined;
    const hit = cacheKey === undefined ? undefined : this.adhoc.get(cacheKey);
    if (hit) return hit;
    const layout = compileLayout(this.repo, parseRefs(req.features, 'features'), full);
    if (cacheKey !== undefined) {
      if (this.adhoc.size >= LAYOUT_CACHE_MAX) this.adhoc.clear();
      this.adhoc.set(cacheKey, layout);
    }
    return layout;
  }

  /** Latest feature values for entity rows, Feast's response shape, one online store round trip. */
  async getOnlineFeatures(req: OnlineFeaturesRequest): Promise<OnlineFeaturesResponse> {
    const layout = this.layout(req);
    const n = checkEntities(layout, req.entities);
    return readOnline(this.online, layout, req.entities, n);
  }

  /** `getOnlineFeatures` answered as JSON text (what the HTTP route sends), built without `JSON.stringify`. */
  async getOnlineFeaturesJson(req: OnlineFeaturesRequest): Promise<string> {
    const layout = this.layout(req);
    const n = checkEntities(layout, req.entities);
    return readOnlineJson(this.online, layout, req.entities, n);
  }

  /**
   * Writes pushed rows straight to the online store and, with `to: offline`, appends them to the
   * source's push log, which historical retrieval and materialization read with the source.
   * Returns the number of online records written and offline rows logged.
   */
  async push(req: PushRequest): Promise<{ online: number; offline: number }> {
    const plan = planPush(this.repo, req);
    if (plan.online.length > 0) await this.online.write(plan.online);
    let offline = 0;
    if (plan.offline && plan.offline.lines !== '') {
      const log = pushLogPath(this.home, plan.offline.source.name);
      mkdirSync(dirname(log), { recursive: true });
      if (existsSync(log)) {
        const header = readFileSync(log, 'utf8').split('\n', 1)[0];
        if (header !== plan.offline.header) {
          throw errors.conflict(`the push log of source '${plan.offline.source.name}' has columns ${header}; the definitions now need ${plan.offline.header}`);
        }
      } else writeFileSync(log, `${plan.offline.header}\n`);
      appendFileSync(log, plan.offline.lines);
      offline = plan.offline.lines.split('\n').length - 1;
    }
    return { online: plan.online.length, offline };
  }

  /** A point-in-time correct training set (see offline/historical.ts). */
  async historical(opts: { entities: string; features?: string[]; service?: string; fullFeatureNames?: boolean; output?: string }): Promise<HistoricalResult> {
    const layout = this.layout(opts, '--service');
    return historicalFeatures(this.repo, layout, { entities: opts.entities, output: opts.output });
  }

  /** Copies the latest row per entity with event time in [start, end] to the online store. */
  async materialize(startMs: number, endMs: number, opts: { views?: string[]; progress?: ProgressFn } = {}): Promise<MaterializeReport[]> {
    if (!(endMs >= startMs)) throw errors.badRequest('--end must not be before --start', '--end');
    const views = this.pickViews(opts.views);
    return materializeViews(this, views.map((v) => ({ view: v, startMs, endMs })), opts.progress);
  }

  /** Materializes each view from where its last run ended (or end - TTL, or the beginning) up to `end`. */
  async materializeIncremental(endMs: number, opts: { views?: string[]; progress?: ProgressFn } = {}): Promise<MaterializeReport[]> {
    const views = this.pickViews(opts.views);
    const jobs = views.map((v) => {
      const last = this.registry.materializedUntil(v.name);
      const startMs = last ?? (v.ttl_seconds > 0 ? endMs - v.ttl_seconds * 1000 : 0);
      return { view: v, startMs: Math.min(startMs, endMs), endMs };
    });
    return materializeViews(this, jobs, opts.progress);
  }

  private pickViews(names: string[] | undefined) {
    if (this.repo.feature_views.length === 0) throw errors.badRequest('no feature views are applied; run `berth features apply FILE` first', 'views');
    if (!names || names.length === 0) return this.repo.feature_views;
    return names.map((n) => {
      const v = this.repo.feature_views.find((x) => x.name === n);
      if (!v) throw errors.badRequest(`unknown feature view '${n}'`, '--views');
      return v;
    });
  }

  async close(): Promise<void> {
    await this.online.close();
    this.registry.close();
  }
}

/** Where rows pushed to a source's offline side are logged. */
function pushLogPath(home: string, source: string): string {
  return join(home, 'feature-push-log', `${source}.csv`);
}

function withPushLogs(repo: FeatureRepo, home: string): FeatureRepo {
  for (const s of repo.sources) s.push_log = pushLogPath(home, s.name);
  return repo;
}

/** Opens the feature store under BERTH_HOME. */
export function openFeatureStore(opts: FeatureStoreOptions): FeatureStore {
  mkdirSync(opts.home, { recursive: true });
  const registry = new FeatureRegistry(join(opts.home, 'features.db'));
  const online = openOnlineStore(opts.onlineStore ?? process.env.BERTH_ONLINE_STORE, opts.home);
  return new FeatureStore(registry, online, opts.home);
}
