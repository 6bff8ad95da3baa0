import type { Logger } from 'pino';
import { BerthError, errors } from '../errors.js';
import type { Registry } from '../registry/index.js';
import type { LoadedModel } from '../runtime/index.js';
import type { ModelManager } from '../serving/index.js';
import type { LiveTraffic } from './observer.js';
import type { TrafficPolicies } from './policy.js';
import { ShadowCopier } from './shadow.js';
import { ACTIVE, type DeployEventType, type Deployment, type DeploymentPatch, type DeploymentStatus, type DeploymentStore, type WindowStats } from './types.js';
import { warmUp } from './warm.js';
import { judge } from './window.js';

/** After a rollout hands traffic back, how long before its policy is dropped and the loser unloaded: calls in flight finish. */
export const DRAIN_MS = 2_000;

/** What a rollout needs from the server it runs in. */
export interface RolloutContext {
  store: DeploymentStore;
  registry: Pick<Registry, 'resolve' | 'setAlias' | 'getModel'>;
  models: Pick<ModelManager, 'load' | 'unload' | 'invalidate'>;
  policies: TrafficPolicies;
  live: LiveTraffic;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  emit(d: Deployment, type: DeployEventType, message: string, data?: Record<string, unknown>): Promise<void>;
  /** True when a version must stay loaded (champion, or part of another active rollout). */
  inUse(model: string, version: number, except: number): Promise<boolean>;
  /** Called once the rollout has nothing left to do. */
  finished(r: Rollout): void;
  /** Moves `champion` back to the stable version of a promoted deployment (the blue-green guard's rollback). */
  revert(d: Deployment, reason: string): Promise<void>;
}

const now = () => new Date().toISOString();

/**
 * Runs one deployment in the server: warm-up, then the strategy (blue-green switch, canary steps
 * under the SLO guard, shadow copies), pause/resume/rollback, and recovery after a restart. Every
 * state change is written to the store before (or as) it takes effect, so a restart finds the last
 * safe state. Actions run one at a time.
 */
export class Rollout {
  private chain: Promise<void> = Promise.resolve();
  private candidate: LoadedModel | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private timers = new Set<NodeJS.Timeout>();
  private windowStart = Date.now();
  private stepStart = Date.now();
  private shadow: ShadowCopier | undefined;
  private ended = false;

  constructor(
    private readonly ctx: RolloutContext,
    public d: Deployment,
  ) {}

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(() => (this.ended ? undefined : fn()));
    this.chain = run.catch((e) => {
      // refusals (pause of a finished rollout...) go back to the caller; only real failures are logged
      if (!(e instanceof BerthError && e.status < 500)) this.ctx.log.error({ model: this.d.model, deployment: this.d.id, err: String(e) }, 'rollout action failed');
    });
    return run;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref?.();
    this.timers.add(t);
  }

  private async persist(patch: DeploymentPatch, from: readonly DeploymentStatus[] = ACTIVE): Promise<boolean> {
    const next = await this.ctx.store.update(this.d.id, patch, from);
    if (next === undefined) return false;
    this.d = next;
    return true;
  }

  private emit(type: DeployEventType, message: string, data: Record<string, unknown> = {}): Promise<void> {
    return this.ctx.emit(this.d, type, message, data);
  }

  private watching = false;

  /** Starts recording both versions' windows (once). */
  private watch(): void {
    if (this.watching) return;
    this.watching = true;
    this.ctx.live.watch.track(this.d.model, [this.d.stable_version, this.d.candidate_version]);
  }

  /** Stops recording what watch() started. */
  private unwatch(): void {
    if (!this.watching) return;
    this.watching = false;
    this.ctx.live.watch.untrack(this.d.model, [this.d.stable_version, this.d.candidate_version]);
  }

  private setWeight(weight: number): void {
    const d = this.d;
    this.ctx.policies.set(d.model, d.id, d.stable_version, d.candidate_version, weight);
  }

  /** Starts a new deployment, or brings back one a restart interrupted (in its last safe state, paused). */
  start(recovering: boolean): Promise<void> {
    return this.serial(async () => {
      const d = this.d;
      this.watch();
      this.setWeight(0);
      if (recovering && d.status !== 'pending') {
        const model = await this.ctx.registry.getModel(d.model);
        if (d.strategy !== 'shadow' && model?.aliases.champion === d.candidate_version) {
          // the alias had moved: the promotion happened, only its record was lost
          await this.persist({ status: 'promoted', weight: 100, finished_at: now(), recovered_at: now() });
          await this.emit('recovered', `server restarted after the switch to version ${d.candidate_version}; the deployment is promoted`);
          this.afterPromotion();
          return;
        }
        const safeStep = d.strategy === 'canary' ? d.passed_step : -1;
        const safeWeight = safeStep >= 0 ? (d.steps[safeStep] as number) : 0;
        const was = d.status;
        await this.persist({
          status: 'paused',
          step: safeStep,
          weight: safeWeight,
          recovered_at: now(),
          reason: `server restarted while ${was}; back at ${safeWeight}% (last safe state), paused: resume or roll back`,
        });
        await this.emit('recovered', `server restarted while ${was}: the candidate is back at ${safeWeight}%, paused until resumed`, {
          previous_status: was,
          weight: safeWeight,
          passed_step: d.passed_step,
        });
      } else if (d.status === 'pending') {
        await this.persist({ status: 'warming' }, ['pending']);
      }
      await this.emit('warming', `loading version ${d.candidate_version} beside ${d.stable_version} and warming it up`);
      this.warm();
    });
  }

  /** Loads and warms the candidate outside the action queue (pause and rollback must not wait for it). */
  private warm(): void {
    const d = this.d;
    void (async () => {
      const mv = await this.ctx.registry.resolve({ name: d.model, version: d.candidate_version });
      const model = await this.ctx.models.load(mv);
      const result = await warmUp(model, this.ctx.live.recentRequests(d.model), d.warmup_requests);
      return { model, result };
    })().then(
      ({ model, result }) => {
        if (this.ended) return void this.unload(d.candidate_version); // rolled back while it loaded
        return this.serial(async () => {
          this.candidate = model;
          await this.emit('warmed', `version ${this.d.candidate_version} is loaded and warm (${result.runs} inferences, ${result.replayed} replayed live requests, ${result.ms} ms)`, result);
          if (this.d.status === 'paused') {
            if (this.d.weight > 0) this.resumeWeight();
          } else await this.begin();
        });
      },
      (e: unknown) =>
        this.serial(async () => {
          const reason = e instanceof Error ? e.message : String(e);
          this.setWeight(0);
          if (await this.persist({ status: 'failed', weight: 0, reason, finished_at: now() })) {
            await this.emit('warmup_failed', `version ${this.d.candidate_version} never took traffic: ${reason}`);
          }
          this.end(this.d.candidate_version);
        }),
    );
  }

  private resumeWeight(): void {
    this.setWeight(this.d.weight);
    this.windowStart = this.stepStart = Date.now();
    this.startTicker();
  }

  /** Runs the strategy once the candidate is warm (and the rollout not paused). */
  private async begin(): Promise<void> {
    const d = this.d;
    if (!(await this.persist({ status: 'running', reason: null }, ['warming', 'running', 'paused']))) return;
    if (d.strategy === 'blue-green') return this.promote('switched');
    if (d.strategy === 'canary') {
      if (this.d.step >= 0 && this.d.step === this.d.passed_step) {
        if (this.d.step >= this.d.steps.length - 1) return this.promote('promoted');
        return this.enterStep(this.d.step + 1);
      }
      return this.enterStep(Math.max(0, this.d.step));
    }
    this.startShadow();
  }

  private async enterStep(i: number): Promise<void> {
    const weight = this.d.steps[i] as number;
    this.setWeight(weight);
    this.windowStart = this.stepStart = Date.now();
    await this.persist({ status: 'running', step: i, weight }, ['running']);
    await this.emit('step', `step ${i + 1} of ${this.d.steps.length}: version ${this.d.candidate_version} takes ${weight}% of traffic`, { step: i, weight });
    this.startTicker();
  }

  private startTicker(): void {
    if (this.ticker !== undefined) return;
    const every = Math.min(1000, Math.max(25, Math.floor(this.d.step_interval_ms / 5)));
    let queued = false;
    this.ticker = setInterval(() => {
      if (queued) return;
      queued = true;
      void this.serial(() => this.tick()).finally(() => {
        queued = false;
      });
    }, every);
    this.ticker.unref?.();
  }

  /** The live windows of both versions since the current step began. */
  windows(): { since: string; stable: WindowStats; candidate: WindowStats } {
    const { model, stable_version, candidate_version } = this.d;
    return {
      since: new Date(this.windowStart).toISOString(),
      stable: this.ctx.live.watch.stats(model, stable_version, this.windowStart),
      candidate: this.ctx.live.watch.stats(model, candidate_version, this.windowStart),
    };
  }

  /** The SLO guard: breach rolls back at once; a full interval that passes moves to the next step. */
  private async tick(): Promise<void> {
    const d = this.d;
    if ((d.status !== 'running' && d.status !== 'paused') || d.weight === 0 || d.strategy !== 'canary') return;
    const w = this.windows();
    const v = judge(w.candidate, w.stable, d.slo);
    if (v.verdict === 'breach') {
      await this.emit('slo_breach', `version ${d.candidate_version} breached at ${d.weight}%: ${v.reason}`, { candidate: w.candidate, stable: w.stable, slo: d.slo });
      return this.doRollback(`automatic: ${v.reason}`);
    }
    if (d.status === 'paused' || v.verdict !== 'pass' || Date.now() - this.stepStart < d.step_interval_ms) return;
    await this.persist({ passed_step: d.step }, ['running']);
    await this.emit('step_passed', `version ${d.candidate_version} passed ${d.weight}%`, { step: d.step, candidate: w.candidate, stable: w.stable });
    if (d.step >= d.steps.length - 1) return this.promote('promoted');
    return this.enterStep(d.step + 1);
  }

  /** Moves `champion` to the candidate (the old one becomes `previous`); blue-green flips all traffic first. */
  private async promote(kind: 'switched' | 'promoted'): Promise<void> {
    const d = this.d;
    this.stopTicker();
    // one Map write: every call routed from here on goes to the candidate
    this.ctx.policies.set(d.model, d.id, d.candidate_version);
    if (kind === 'switched') await this.emit('switched', `all traffic switched from version ${d.stable_version} to ${d.candidate_version}`);
    await this.ctx.registry.setAlias(d.model, 'champion', d.candidate_version, 'berth-deploy');
    await this.emit('alias_moved', `alias champion: ${d.stable_version} -> ${d.candidate_version}`, { alias: 'champion', from: d.stable_version, to: d.candidate_version });
    await this.ctx.registry.setAlias(d.model, 'previous', d.stable_version, 'berth-deploy');
    await this.emit('alias_moved', `alias previous -> ${d.stable_version}`, { alias: 'previous', to: d.stable_version });
    this.ctx.models.invalidate();
    await this.persist({ status: 'promoted', weight: 100, reason: null, finished_at: now() }, ['running']);
    await this.emit('promoted', `version ${d.candidate_version} is champion; version ${d.stable_version} stays loaded for ${Math.round(d.grace_ms / 1000)} s`);
    this.afterPromotion();
  }

  private afterPromotion(): void {
    const d = this.d;
    this.ctx.policies.set(d.model, d.id, d.candidate_version);
    this.ended = true;
    this.stopTicker();
    // the policy outlives the alias move until name resolutions cached before it have expired
    this.later(DRAIN_MS, () => {
      this.ctx.policies.clear(d.model, d.id);
      if (d.strategy !== 'blue-green') this.unwatch();
    });
    if (d.strategy === 'blue-green') this.guardSwitch();
    this.later(d.grace_ms, () => void this.unload(d.stable_version));
    this.ctx.finished(this);
  }

  /**
   * Blue-green: through the grace period after the switch (while the old version is still loaded),
   * the new version's window since the switch is held against the SLO and against the old version's
   * last step interval before it; a breach moves `champion` straight back.
   */
  private guardSwitch(): void {
    const d = this.d;
    const switched = Date.now();
    const before = this.ctx.live.watch.stats(d.model, d.stable_version, switched - d.step_interval_ms);
    const every = Math.min(1000, Math.max(25, Math.floor(d.step_interval_ms / 5)));
    let done = false;
    const stop = () => {
      done = true;
      clearInterval(guard);
      this.timers.delete(guard);
      this.unwatch();
    };
    const guard = setInterval(() => {
      if (done) return;
      if (Date.now() - switched >= d.grace_ms) return stop();
      const after = this.ctx.live.watch.stats(d.model, d.candidate_version, switched);
      const v = judge(after, before, d.slo);
      if (v.verdict !== 'breach') return;
      stop();
      void (async () => {
        await this.emit('slo_breach', `version ${d.candidate_version} breached after the switch: ${v.reason}`, { candidate: after, stable: before, slo: d.slo });
        await this.ctx.revert(this.d, `automatic: ${v.reason}`);
      })().catch((e: unknown) => this.ctx.log.error({ model: d.model, deployment: d.id, err: String(e) }, 'blue-green rollback after an SLO breach failed'));
    }, every);
    guard.unref?.();
    this.timers.add(guard);
  }

  private startShadow(): void {
    const d = this.d;
    const policy = this.ctx.policies.get(d.model);
    if (this.candidate === undefined || policy === undefined) return;
    this.shadow ??= new ShadowCopier(this.candidate);
    this.ctx.live.setShadow(d.model, { copier: this.shadow, stable: policy.stable });
    this.stopTicker();
    this.ticker = setInterval(() => void this.serial(() => this.report()), d.step_interval_ms);
    this.ticker.unref?.();
    if (d.duration_ms !== null) {
      const left = Math.max(0, Date.parse(d.created_at) + d.duration_ms - Date.now());
      this.later(left, () => void this.serial(() => this.completeShadow()));
    }
  }

  private async report(): Promise<void> {
    if (this.shadow === undefined || this.d.status !== 'running') return;
    const stats = this.shadow.stats();
    await this.persist({ shadow: stats }, ['running']);
    const rate = stats.agreement_rate === null ? 'no copies yet' : `${(stats.agreement_rate * 100).toFixed(1)}% agreement over ${stats.compared} copies`;
    await this.emit('shadow_report', `shadow version ${this.d.candidate_version}: ${rate}`, { ...stats });
  }

  private async completeShadow(): Promise<void> {
    this.ctx.live.setShadow(this.d.model, undefined);
    const stats = this.shadow?.stats() ?? null;
    if (await this.persist({ status: 'completed', weight: 0, shadow: stats, finished_at: now() })) {
      await this.emit('completed', `shadow of version ${this.d.candidate_version} ran its duration`, { ...stats });
    }
    this.end(this.d.candidate_version);
  }

  /** The shadow's agreement so far (undefined unless shadowing). */
  shadowStats() {
    return this.shadow?.stats();
  }

  /** Holds the rollout where it is: canary keeps its weight (the SLO guard still watches), shadow stops copying, blue-green does not switch. */
  pause(actor: string | null): Promise<void> {
    return this.serial(async () => {
      if (!(await this.persist({ status: 'paused', reason: `paused${actor ? ` by ${actor}` : ''}` }, ['pending', 'warming', 'running']))) {
        throw errors.conflict(`deployment ${this.d.id} of '${this.d.model}' is ${this.d.status}; only a warming or running one can be paused`);
      }
      this.applyPause();
      await this.emit('paused', `paused at ${this.d.weight}%`, { weight: this.d.weight, actor });
    });
  }

  private applyPause(): void {
    if (this.d.strategy === 'shadow') this.ctx.live.setShadow(this.d.model, undefined);
  }

  /** Carries on from a pause: the current step starts a fresh window (or, recovered, the next step). */
  resume(actor: string | null): Promise<void> {
    return this.serial(async () => {
      if (this.d.status !== 'paused') throw errors.conflict(`deployment ${this.d.id} of '${this.d.model}' is ${this.d.status}, not paused`);
      await this.emit('resumed', `resumed at ${this.d.weight}%`, { weight: this.d.weight, actor });
      await this.applyResume();
    });
  }

  private async applyResume(): Promise<void> {
    if (this.candidate === undefined) {
      await this.persist({ status: 'warming', reason: null }, ['paused']); // warm-up is still running; it begins the strategy
      return;
    }
    await this.begin();
  }

  /** Sends all traffic back to the stable version and ends the rollout. */
  rollback(reason: string): Promise<void> {
    return this.serial(() => this.doRollback(reason));
  }

  private async doRollback(reason: string): Promise<void> {
    const d = this.d;
    this.setWeight(0);
    this.ctx.live.setShadow(d.model, undefined);
    if (await this.persist({ status: 'rolled_back', weight: 0, reason, finished_at: now() })) {
      await this.emit('rolled_back', `version ${d.candidate_version} rolled back to 0%; version ${d.stable_version} serves all traffic (${reason})`, { reason });
    }
    this.end(d.candidate_version);
  }

  /** Applies a change another process (a local CLI) wrote to the store. */
  sync(row: Deployment): Promise<void> {
    return this.serial(async () => {
      const was = this.d.status;
      if (row.status === was) return;
      this.d = row;
      if (row.status === 'paused') this.applyPause();
      else if (row.status === 'running' && was === 'paused') {
        this.d = { ...row, status: 'paused' };
        await this.applyResume();
      } else if (row.status === 'rolled_back' || row.status === 'failed' || row.status === 'completed') {
        this.setWeight(0);
        this.ctx.live.setShadow(row.model, undefined);
        this.end(row.candidate_version);
      }
    });
  }

  private end(loser: number): void {
    const d = this.d;
    this.ended = true;
    this.stopTicker();
    this.shadow?.stop();
    this.later(DRAIN_MS, () => {
      this.ctx.policies.clear(d.model, d.id);
      this.unwatch();
      void this.unload(loser);
    });
    this.ctx.finished(this);
  }

  private async unload(version: number): Promise<void> {
    const d = this.d;
    if (await this.ctx.inUse(d.model, version, d.id).catch(() => true)) return;
    if (await this.ctx.models.unload(d.model, version)) await this.emit('unloaded', `version ${version} unloaded`, { version });
  }

  private stopTicker(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }

  /** Server shutdown: timers stop, nothing is written (a restart recovers from the store). */
  stop(): void {
    this.ended = true;
    this.stopTicker();
    this.shadow?.stop();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
