import { join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry as PromRegistry } from 'prom-client';
import { errors } from '../errors.js';
import type { Registry } from '../registry/index.js';
import type { ModelManager } from '../serving/index.js';
import { WebhookSender } from '../webhooks/index.js';
import { LiveTraffic } from './observer.js';
import { TrafficPolicies } from './policy.js';
import { DRAIN_MS, Rollout, type RolloutContext } from './rollout.js';
import { SqliteDeploymentStore } from './sqlite.js';
import {
  ACTIVE,
  type DeployEvent,
  type DeployEventType,
  type Deployment,
  type DeploymentInput,
  type DeploymentStatus,
  type DeploymentStore,
  type ShadowStats,
  type WindowStats,
} from './types.js';
import { validateInput } from './validate.js';
import { warmUp } from './warm.js';

/** A deployment with what the server sees live: the current windows of both versions and the shadow's agreement. */
export interface DeploymentStatusView extends Deployment {
  live: { since: string; stable: WindowStats; candidate: WindowStats; shadow: ShadowStats | null } | null;
}

export interface DeploymentsOptions {
  registry: Pick<Registry, 'resolve' | 'setAlias' | 'getModel'>;
  /** Given in the server: rollouts run here. Without it (a local CLI) actions are recorded for the server. */
  serving?: { models: Pick<ModelManager, 'load' | 'unload' | 'invalidate' | 'state'>; log: Pick<Logger, 'info' | 'warn' | 'error'> };
  /** How often the server looks for deployments recorded by another process, ms (default 500). */
  pollMs?: number;
  webhooks?: WebhookSender;
  /** Prometheus registry for the deployment metrics (traffic split, active rollouts, events). */
  metrics?: PromRegistry;
}

const now = () => new Date().toISOString();
const quiet = { info() {}, warn() {}, error() {} };

/**
 * Deployments over a store: deploy, list, status, pause, resume, rollback and the event log. In the
 * server it also runs the rollouts (one per model) and exposes their router and observer; in a CLI
 * it records actions that the server applies within `pollMs`.
 */
export class Deployments {
  /** The traffic policies; the server puts this router after the experiments router. */
  readonly router = new TrafficPolicies();
  /** The inference observer feeding SLO windows, warm-up replay and shadow copies. */
  readonly observer = new LiveTraffic();
  private readonly rollouts = new Map<string, Rollout>();
  private readonly eventCounter: Counter<'model' | 'type'> | undefined;
  private readonly webhooks: WebhookSender;
  private readonly log: Pick<Logger, 'info' | 'warn' | 'error'>;
  private poller: NodeJS.Timeout | undefined;
  private readonly ctx: RolloutContext | undefined;

  constructor(
    readonly store: DeploymentStore,
    private readonly opts: DeploymentsOptions,
  ) {
    this.log = opts.serving?.log ?? quiet;
    this.webhooks = opts.webhooks ?? new WebhookSender({ log: this.log });
    const serving = opts.serving;
    if (opts.metrics) this.eventCounter = this.registerMetrics(opts.metrics);
    this.ctx = serving && {
      store,
      registry: opts.registry,
      models: serving.models,
      policies: this.router,
      live: this.observer,
      log: this.log,
      emit: async (d, type, message, data) => void (await this.emit(d, type, message, data)),
      inUse: async (model, version, except) => {
        if ((await opts.registry.getModel(model))?.aliases.champion === version) return true;
        return (await store.active()).some((x) => x.id !== except && x.model === model && (x.stable_version === version || x.candidate_version === version));
      },
      finished: (r) => {
        if (this.rollouts.get(r.d.model) === r) this.rollouts.delete(r.d.model);
      },
      revert: async (d, reason) => void (await this.rollbackPromoted(d, reason)),
    };
  }

  /** Gauges read on scrape (each model's traffic split, the rollouts running here) and the event counter. */
  private registerMetrics(registry: PromRegistry): Counter<'model' | 'type'> {
    const router = this.router;
    const rollouts = this.rollouts;
    new Gauge({
      name: 'berth_deployment_traffic_percent',
      help: 'Share of the calls that name no version each version of a model gets from its traffic policy (models under a rollout only).',
      labelNames: ['model', 'version'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [model, p] of router.entries()) {
          this.set({ model, version: String(p.stable.version) }, 100 - p.weight);
          if (p.candidate !== undefined && p.candidate.version !== p.stable.version) this.set({ model, version: String(p.candidate.version) }, p.weight);
        }
      },
    });
    new Gauge({
      name: 'berth_deployment_active',
      help: 'Rollouts running in this server (1 per model), by strategy, status and candidate version.',
      labelNames: ['model', 'strategy', 'status', 'candidate_version'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of rollouts.values()) this.set({ model: r.d.model, strategy: r.d.strategy, status: r.d.status, candidate_version: String(r.d.candidate_version) }, 1);
      },
    });
    return new Counter({
      name: 'berth_deployment_events_total',
      help: 'Deployment events (steps, switches, promotions, SLO breaches, rollbacks...) by type.',
      labelNames: ['model', 'type'],
      registers: [registry],
    });
  }

  /** Server only: brings back rollouts a restart interrupted, starts recorded ones, and watches for more. */
  async start(): Promise<void> {
    if (this.ctx === undefined) return;
    this.store.changedElsewhere();
    for (const d of await this.store.active()) this.run(d, true);
    this.poller = setInterval(() => {
      if (this.store.changedElsewhere()) void this.reconcile().catch((e) => this.log.warn({ err: String(e) }, 'deployments reload failed'));
    }, this.opts.pollMs ?? 500);
    this.poller.unref?.();
  }

  private run(d: Deployment, recovering: boolean): Rollout | undefined {
    if (this.ctx === undefined) return undefined;
    const r = new Rollout(this.ctx, d);
    this.rollouts.set(d.model, r);
    void r.start(recovering).catch(() => {});
    return r;
  }

  /** Applies what another process recorded: new deployments start, pauses, resumes and rollbacks take effect. */
  private async reconcile(): Promise<void> {
    const active = await this.store.active();
    for (const d of active) {
      const r = this.rollouts.get(d.model);
      if (r === undefined) this.run(d, d.status !== 'pending');
      else if (r.d.id === d.id) await r.sync(d);
    }
    for (const r of this.rollouts.values()) {
      if (!active.some((d) => d.id === r.d.id)) {
        const row = await this.store.get(r.d.id);
        if (row) await r.sync(row);
      }
    }
  }

  private async emit(d: Deployment, type: DeployEventType, message: string, data: Record<string, unknown> = {}): Promise<DeployEvent> {
    const event = await this.store.addEvent({ model: d.model, deployment_id: d.id, type, message, data, at: now() });
    this.eventCounter?.inc({ model: d.model, type });
    this.log.info({ model: d.model, deployment: d.id, event: type, candidate: d.candidate_version }, message);
    for (const url of d.webhooks) void this.webhooks.send(url, event);
    return event;
  }

  /**
   * Records a deployment (and, in the server, starts it). The stable version is the one serving now
   * (champion, else newest); when the model has no champion, `champion` is pinned to it first so that
   * the endpoint keeps serving it once the rollout hands traffic back.
   */
  async create(input: DeploymentInput): Promise<Deployment> {
    const v = validateInput(input);
    const model = await this.opts.registry.getModel(v.model);
    if (model === undefined) throw errors.notFound(`model '${v.model}' not found`);
    await this.opts.registry.resolve({ name: v.model, version: v.version }); // NOT_FOUND for a missing version
    const stable = await this.opts.registry.resolve({ name: v.model });
    if (stable.version === v.version) {
      throw errors.conflict(
        model.aliases.champion === v.version
          ? `version ${v.version} of '${v.model}' is already the champion`
          : `'${v.model}' has no champion alias, so its newest version (${v.version}) already serves; point champion at the current version first (berth models alias)`,
      );
    }
    const busy = (await this.store.active()).find((d) => d.model === v.model);
    if (busy) throw errors.conflict(`model '${v.model}' already has deployment ${busy.id} (${busy.status}); roll it back or let it finish first`);
    const at = now();
    const d = await this.store.create({
      model: v.model,
      strategy: v.strategy,
      stable_version: stable.version,
      candidate_version: v.version,
      status: 'pending',
      weight: 0,
      steps: v.steps,
      step: -1,
      passed_step: -1,
      step_interval_ms: v.step_interval_ms,
      slo: v.slo,
      grace_ms: v.grace_ms,
      duration_ms: v.duration_ms,
      warmup_requests: v.warmup_requests,
      webhooks: v.webhooks,
      reason: null,
      recovered_at: null,
      shadow: null,
      actor: input.actor ?? null,
      created_at: at,
      updated_at: at,
      finished_at: null,
    });
    await this.emit(d, 'created', `${d.strategy} of '${d.model}' version ${d.candidate_version} (stable ${d.stable_version})`, {
      strategy: d.strategy,
      stable_version: d.stable_version,
      candidate_version: d.candidate_version,
    });
    if (model.aliases.champion === undefined) {
      await this.opts.registry.setAlias(d.model, 'champion', stable.version, input.actor ?? 'berth-deploy');
      await this.emit(d, 'alias_moved', `alias champion -> ${stable.version} (pinned before the rollout)`, { alias: 'champion', to: stable.version });
    }
    this.run(d, false);
    return d;
  }

  /** Every deployment, newest first (one model's with `model`). */
  list(model?: string): Promise<Deployment[]> {
    return this.store.list(model);
  }

  private async latest(model: string): Promise<Deployment> {
    const d = await this.store.latest(model);
    if (d === undefined) throw errors.notFound(`model '${model}' has no deployments`);
    return d;
  }

  /** The model's newest deployment, with live windows when a server runs it. */
  async status(model: string): Promise<DeploymentStatusView> {
    const r = this.rollouts.get(model);
    const d = r?.d ?? (await this.latest(model));
    const live = r && r.d.id === d.id ? { ...r.windows(), shadow: r.shadowStats() ?? null } : null;
    return { ...d, live };
  }

  /** Holds the model's running deployment where it is. */
  async pause(model: string, actor: string | null = null): Promise<Deployment> {
    const r = this.rollouts.get(model);
    if (r !== undefined) {
      await r.pause(actor);
      return r.d;
    }
    return this.record(model, 'paused', ['pending', 'warming', 'running'], `paused${actor ? ` by ${actor}` : ''}`, 'paused');
  }

  /** Carries on with the model's paused deployment. */
  async resume(model: string, actor: string | null = null): Promise<Deployment> {
    const r = this.rollouts.get(model);
    if (r !== undefined) {
      await r.resume(actor);
      return r.d;
    }
    return this.record(model, 'running', ['paused'], null, 'resumed');
  }

  /**
   * Sends the model's traffic back to the stable version: an active rollout goes to 0%; a promoted
   * one has `champion` moved back (instant while the old version is still loaded, else after it is
   * loaded and warmed).
   */
  async rollback(model: string, actor: string | null = null): Promise<Deployment> {
    const reason = `rolled back${actor ? ` by ${actor}` : ' by request'}`;
    const r = this.rollouts.get(model);
    if (r !== undefined) {
      await r.rollback(reason);
      return r.d;
    }
    const d = await this.latest(model);
    if (d.status === 'promoted') return this.rollbackPromoted(d, reason);
    return this.record(model, 'rolled_back', ACTIVE, reason, 'rolled_back');
  }

  private async rollbackPromoted(d: Deployment, reason: string): Promise<Deployment> {
    const m = await this.opts.registry.getModel(d.model);
    if (m?.aliases.champion !== d.candidate_version) {
      throw errors.conflict(`champion of '${d.model}' is no longer version ${d.candidate_version}; nothing to roll back`);
    }
    const serving = this.opts.serving;
    if (serving !== undefined) {
      const mv = await this.opts.registry.resolve({ name: d.model, version: d.stable_version });
      const warmAlready = serving.models.state(mv) === 'ready';
      const loaded = await serving.models.load(mv);
      if (!warmAlready) await warmUp(loaded, this.observer.recentRequests(d.model), d.warmup_requests);
      this.router.set(d.model, d.id, d.stable_version);
      setTimeout(() => this.router.clear(d.model, d.id), DRAIN_MS).unref();
    }
    await this.opts.registry.setAlias(d.model, 'champion', d.stable_version, 'berth-deploy');
    await this.emit(d, 'alias_moved', `alias champion: ${d.candidate_version} -> ${d.stable_version}`, { alias: 'champion', from: d.candidate_version, to: d.stable_version });
    await this.opts.registry.setAlias(d.model, 'previous', d.candidate_version, 'berth-deploy');
    await this.emit(d, 'alias_moved', `alias previous -> ${d.candidate_version}`, { alias: 'previous', to: d.candidate_version });
    serving?.models.invalidate();
    const next = (await this.store.update(d.id, { status: 'rolled_back', weight: 0, reason, finished_at: now() }, ['promoted'])) ?? d;
    await this.emit(next, 'rolled_back', `version ${d.stable_version} is champion again (${reason})`, { reason });
    return next;
  }

  /** A status change made without a server rollout to apply it (the server picks it up from the store). */
  private async record(
    model: string,
    status: DeploymentStatus,
    from: readonly DeploymentStatus[],
    reason: string | null,
    event: DeployEventType,
  ): Promise<Deployment> {
    const d = await this.latest(model);
    const patch = status === 'rolled_back' ? { status, reason, weight: 0, finished_at: now() } : { status, reason };
    const next = await this.store.update(d.id, patch, from);
    if (next === undefined) throw errors.conflict(`deployment ${d.id} of '${model}' is ${d.status}; cannot ${event.replace('_', ' ').replace(/ed$/, '')}`);
    await this.emit(next, event, `${event.replace('_', ' ')} (recorded for the server)`, {});
    return next;
  }

  /** The model's event log, oldest first, after event id `after`. */
  events(model: string, after = 0): Promise<DeployEvent[]> {
    return this.store.events(model, after);
  }

  /** Stops the rollouts' timers (their state stays in the store) and closes the store. */
  async close(): Promise<void> {
    clearInterval(this.poller);
    for (const r of this.rollouts.values()) r.stop();
    this.rollouts.clear();
    await this.webhooks.close();
    await this.store.close();
  }
}

/** Opens the deployments service over `<home>/deployments.db`. */
export function openDeployments(opts: DeploymentsOptions & { home: string }): Deployments {
  return new Deployments(new SqliteDeploymentStore(join(opts.home, 'deployments.db')), opts);
}
