import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { errors } from '../../errors.js';
import { WebhookSender, type WebhookOptions } from '../../webhooks/index.js';
import { type AlertAction, type AlertRule, checkRules, holds, parseRules } from './rules.js';
import type { AlertSignals } from './signals.js';
import { type AlertEvent, type AlertPlanItem, type AlertState, AlertStore } from './store.js';

/** Rules as `apply` takes them: a YAML file's text (errors name its lines) or the parsed `rules` list. */
export type RulesSource = { yaml: string; file?: string } | { rules: unknown };

/** A rule as listed, with where it stands for each model it watches. */
export interface AlertRuleView extends AlertRule {
  states: { model: string; state: 'pending' | 'firing'; since: string; version: number | null; value: number | null }[];
}

export interface ApplyOutcome {
  applied: boolean;
  plan: AlertPlanItem[];
}

export interface EventQuery {
  rule?: string;
  model?: string;
  /** Only events with a larger id. */
  after?: number;
  limit?: number;
}

/** What the CLI needs from alerts, local or remote. */
export interface AlertsApi {
  apply(source: RulesSource, dryRun: boolean): Promise<ApplyOutcome>;
  list(): Promise<AlertRuleView[]>;
  events(q?: EventQuery): Promise<AlertEvent[]>;
}

export interface AlertServiceOptions {
  home: string;
  /** Where values come from; without it the service only stores rules and lists events (the local CLI). */
  signals?: AlertSignals;
  /** How often rules are evaluated, ms (default 10 s); 0 turns the timer off (call `evaluate`). */
  intervalMs?: number;
  log?: Logger;
  webhooks?: WebhookOptions;
  now?: () => number;
}

/** Events kept in the history. */
const KEEP_EVENTS = 10_000;

export type AlertListener = (event: AlertEvent) => void;

const key = (rule: string, model: string) => `${rule}\u0000${model}`;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Alert rules: stored, evaluated on a timer (pending → firing after `for`, firing → resolved when the
 * condition clears), with deduplicated events kept in SQLite and handed to webhooks, the log and subscribers.
 */
export class AlertService implements AlertsApi {
  private readonly store: AlertStore;
  private readonly sender: WebhookSender;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly listeners = new Set<AlertListener>();
  private readonly deliveries = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private closing = false;

  constructor(private readonly opts: AlertServiceOptions) {
    this.store = new AlertStore(join(opts.home, 'alerts.db'));
    this.log = opts.log ?? pino({ level: 'silent' });
    this.sender = new WebhookSender({ log: this.log, ...opts.webhooks });
    this.now = opts.now ?? Date.now;
  }

  /** Starts the evaluation timer and delivers events a previous process stored but did not deliver. */
  start(): void {
    if (!this.opts.signals) return;
    const rules = new Map(this.store.rules().map((r) => [r.name, r]));
    for (const e of this.store.undelivered()) this.dispatch(e, rules.get(e.rule)?.actions ?? []);
    const every = this.opts.intervalMs ?? 10_000;
    if (every > 0) {
      this.timer = setInterval(() => {
        this.evaluate().catch((err) => this.log.error({ err }, 'alert evaluation failed'));
      }, every).unref();
    }
  }

  /** Listens to every firing and resolved event (the retraining pipeline subscribes here); returns the unsubscribe. */
  subscribe(listener: AlertListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async apply(source: RulesSource, dryRun: boolean): Promise<ApplyOutcome> {
    const rules = 'yaml' in source ? parseRules(source.yaml, source.file) : checkRules({ rules: source.rules });
    return { applied: !dryRun, plan: dryRun ? this.store.plan(rules) : this.store.apply(rules) };
  }

  async list(): Promise<AlertRuleView[]> {
    const states = this.store.states();
    return this.store.rules().map((r) => ({
      ...r,
      states: states
        .filter((s) => s.rule === r.name && s.spec === JSON.stringify(r))
        .map((s) => ({ model: s.model, state: s.state, since: iso(s.since), version: s.version, value: s.value })),
    }));
  }

  async events(q: EventQuery = {}): Promise<AlertEvent[]> {
    const limit = q.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > KEEP_EVENTS) throw errors.badRequest(`limit must be a whole number from 1 to ${KEEP_EVENTS}`, 'limit');
    return this.store.events({ rule: q.rule, model: q.model, afterId: q.after, limit });
  }

  /** Evaluates every rule once (the timer calls this); returns the events it produced. */
  async evaluate(): Promise<AlertEvent[]> {
    while (this.running) await this.running.catch(() => {});
    const run = this.round();
    this.running = run;
    try {
      return await run;
    } finally {
      this.running = undefined;
    }
  }

  private async round(): Promise<AlertEvent[]> {
    const signals = this.opts.signals;
    if (!signals || this.closing) return [];
    await signals.refresh?.();
    const now = this.now();
    const rules = this.store.rules();
    const byName = new Map(rules.map((r) => [r.name, r]));
    const states = new Map<string, AlertState>();
    const put: AlertState[] = [];
    const drop: AlertState[] = [];
    const pending: { event: Omit<AlertEvent, 'id'>; actions: AlertAction[] }[] = [];
    const event = (rule: AlertRule, s: { model: string; since: number }, state: AlertEvent['state'], value: number | null, version: number | null, reason?: string) => {
      const c = rule.condition;
      pending.push({
        actions: rule.actions,
        event: {
          rule: rule.name,
          model: s.model,
          version,
          metric: c.metric,
          ...(c.column !== undefined ? { column: c.column } : {}),
          op: c.op,
          value,
          threshold: c.value,
          state,
          started_at: iso(s.since),
          at: iso(now),
          ...(reason ? { reason } : {}),
        },
      });
    };

    for (const s of this.store.states()) {
      const rule = byName.get(s.rule);
      if (rule && JSON.stringify(rule) === s.spec) {
        states.set(key(s.rule, s.model), s);
        continue;
      }
      // a changed or removed rule starts over; a firing one is resolved so subscribers are not left waiting
      drop.push(s);
      if (s.state === 'firing') event(JSON.parse(s.spec) as AlertRule, s, 'resolved', s.value, s.version, rule ? 'rule changed' : 'rule removed');
    }

    const known = signals.models?.() ?? [];
    for (const rule of rules) {
      const spec = JSON.stringify(rule);
      const c = rule.condition;
      const models = rule.model !== undefined ? [rule.model] : [...new Set([...known, ...[...states.values()].filter((s) => s.rule === rule.name).map((s) => s.model)])];
      for (const model of models) {
        const value = signals.value(model, c.metric, { column: c.column, windowMs: rule.window_ms });
        if (value === undefined || Number.isNaN(value)) continue; // no data: neither fires nor resolves
        const st = states.get(key(rule.name, model));
        const version = signals.version?.(model, c.metric) ?? st?.version ?? null;
        const cond = holds(c.op, value, c.value);
        if (!st) {
          if (!cond) continue;
          const firing = rule.for_ms <= 0;
          put.push({ rule: rule.name, model, state: firing ? 'firing' : 'pending', spec, since: now, version, value });
          if (firing) event(rule, { model, since: now }, 'firing', value, version);
        } else if (!cond) {
          drop.push(st);
          if (st.state === 'firing') event(rule, st, 'resolved', value, version);
        } else if (st.state === 'pending' && now - st.since >= rule.for_ms) {
          put.push({ ...st, state: 'firing', since: now, version, value });
          event(rule, { model, since: now }, 'firing', value, version);
        } else {
          put.push({ ...st, version, value });
        }
      }
    }

    const stored = this.store.commit(put, drop, pending.map((p) => p.event));
    if (stored.length > 0) this.store.prune(KEEP_EVENTS);
    stored.forEach((e, i) => {
      this.dispatch(e, pending[i]?.actions ?? []);
    });
    return stored;
  }

  /** Tells subscribers, logs, and posts to webhooks; the event counts as delivered once every action finished. */
  private dispatch(e: AlertEvent, actions: AlertAction[]): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.warn({ err, rule: e.rule }, 'alert subscriber failed');
      }
    }
    const sends: Promise<boolean>[] = [];
    for (const a of actions) {
      if ('log' in a) {
        const { id, ...fields } = e;
        this.log[a.log.level]({ alert_event: id, ...fields }, `alert ${e.state}: ${e.rule} (${e.model})`);
      } else {
        sends.push(this.sender.send(a.webhook, e).then((d) => d.ok));
      }
    }
    const done = Promise.all(sends).then((oks) => {
      // a delivery cut short by shutdown is retried by the next process; one that failed for good is not
      if (this.closing && oks.includes(false)) return;
      this.store.markDelivered(e.id);
    });
    const tracked = done.catch((err) => this.log.error({ err }, 'alert delivery bookkeeping failed')).finally(() => this.deliveries.delete(tracked));
    this.deliveries.add(tracked);
  }

  /** Stops the timer, cuts webhook retries short, and closes the store. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.timer);
    await this.running?.catch(() => {});
    await this.sender.close();
    await Promise.allSettled([...this.deliveries]);
    this.store.close();
  }
}

/** Opens the alerts of a home; with `signals`, also starts evaluating them. */
export function openAlerts(opts: AlertServiceOptions): AlertService {
  const service = new AlertService(opts);
  service.start();
  return service;
}
