import type Database from 'better-sqlite3';
import { openSqlite } from '../../sqlite.js';
import type { AlertRule } from './rules.js';

export type PlanAction = 'create' | 'change' | 'remove' | 'unchanged';

/** One line of an apply plan. */
export interface AlertPlanItem {
  kind: 'rule';
  name: string;
  action: PlanAction;
}

/** A firing or resolved event, as webhooks receive it and `GET /api/v1/alerts/events` lists it. */
export interface AlertEvent {
  id: number;
  rule: string;
  model: string;
  version: number | null;
  metric: string;
  column?: string;
  op: string;
  value: number | null;
  threshold: number;
  state: 'firing' | 'resolved';
  /** When the rule started firing (ISO 8601). */
  started_at: string;
  /** When this event happened (ISO 8601). */
  at: string;
  /** Why a resolved event came without the condition clearing (the rule was changed or removed). */
  reason?: string;
}

/** Where one rule stands for one model. */
export interface AlertState {
  rule: string;
  model: string;
  state: 'pending' | 'firing';
  /** The rule's spec when this state began (a changed rule starts over). */
  spec: string;
  /** Epoch ms: since when the condition holds (pending) or the rule fires (firing). */
  since: number;
  version: number | null;
  value: number | null;
}

/** Rules, per-model states and the event history, in SQLite (`<home>/alerts.db`). */
export class AlertStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = openSqlite(path);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS alert_rules (name TEXT PRIMARY KEY, spec TEXT NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS alert_states (rule TEXT NOT NULL, model TEXT NOT NULL, state TEXT NOT NULL, spec TEXT NOT NULL,
        since_ms INTEGER NOT NULL, version INTEGER, value REAL, PRIMARY KEY (rule, model));
      CREATE TABLE IF NOT EXISTS alert_events (id INTEGER PRIMARY KEY AUTOINCREMENT, rule TEXT NOT NULL, model TEXT NOT NULL,
        state TEXT NOT NULL, body TEXT NOT NULL, delivered INTEGER NOT NULL DEFAULT 0);`);
  }

  /** The applied rules, by name. */
  rules(): AlertRule[] {
    return (this.db.prepare('SELECT spec FROM alert_rules ORDER BY name').all() as { spec: string }[]).map((r) => JSON.parse(r.spec) as AlertRule);
  }

  /** What applying `rules` would create, change and remove. */
  plan(rules: AlertRule[]): AlertPlanItem[] {
    const current = new Map((this.db.prepare('SELECT name, spec FROM alert_rules').all() as { name: string; spec: string }[]).map((r) => [r.name, r.spec]));
    const items: AlertPlanItem[] = rules.map((r) => {
      const old = current.get(r.name);
      return { kind: 'rule', name: r.name, action: old === undefined ? 'create' : old === JSON.stringify(r) ? 'unchanged' : 'change' };
    });
    const wanted = new Set(rules.map((r) => r.name));
    for (const name of [...current.keys()].sort()) if (!wanted.has(name)) items.push({ kind: 'rule', name, action: 'remove' });
    return items;
  }

  /** Makes the stored rules equal to `rules`; returns the plan it carried out. */
  apply(rules: AlertRule[]): AlertPlanItem[] {
    const plan = this.plan(rules);
    if (plan.every((p) => p.action === 'unchanged')) return plan;
    const now = new Date().toISOString();
    const put = this.db.prepare(
      'INSERT INTO alert_rules (name, spec, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at',
    );
    const del = this.db.prepare('DELETE FROM alert_rules WHERE name = ?');
    this.db.transaction(() => {
      for (const r of rules) if (plan.find((p) => p.name === r.name)?.action !== 'unchanged') put.run(r.name, JSON.stringify(r), now);
      for (const p of plan) if (p.action === 'remove') del.run(p.name);
    })();
    return plan;
  }

  states(): AlertState[] {
    const rows = this.db.prepare('SELECT rule, model, state, spec, since_ms, version, value FROM alert_states ORDER BY rule, model').all() as {
      rule: string;
      model: string;
      state: 'pending' | 'firing';
      spec: string;
      since_ms: number;
      version: number | null;
      value: number | null;
    }[];
    return rows.map((r) => ({ rule: r.rule, model: r.model, state: r.state, spec: r.spec, since: r.since_ms, version: r.version, value: r.value }));
  }

  /**
   * Writes one evaluation's outcome in a transaction: new or updated states, states that ended, and
   * the events they produced (returned with their ids). A crash leaves either all of it or none.
   */
  commit(put: AlertState[], drop: { rule: string; model: string }[], events: Omit<AlertEvent, 'id'>[]): AlertEvent[] {
    const upsert = this.db.prepare(
      `INSERT INTO alert_states (rule, model, state, spec, since_ms, version, value) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (rule, model) DO UPDATE SET state = excluded.state, spec = excluded.spec, since_ms = excluded.since_ms,
         version = excluded.version, value = excluded.value`,
    );
    const del = this.db.prepare('DELETE FROM alert_states WHERE rule = ? AND model = ?');
    const ins = this.db.prepare('INSERT INTO alert_events (rule, model, state, body) VALUES (?, ?, ?, ?)');
    return this.db.transaction(() => {
      for (const s of put) upsert.run(s.rule, s.model, s.state, s.spec, s.since, s.version, s.value);
      for (const d of drop) del.run(d.rule, d.model);
      return events.map((e) => {
        const id = Number(ins.run(e.rule, e.model, e.state, JSON.stringify(e)).lastInsertRowid);
        return { id, ...e };
      });
    })();
  }

  /** Events, oldest first: after `afterId`, for one rule or model, the last `limit`. */
  events(q: { rule?: string; model?: string; afterId?: number; limit?: number } = {}): AlertEvent[] {
    const where: string[] = ['id > ?'];
    const args: unknown[] = [q.afterId ?? 0];
    if (q.rule !== undefined) {
      where.push('rule = ?');
      args.push(q.rule);
    }
    if (q.model !== undefined) {
      where.push('model = ?');
      args.push(q.model);
    }
    const rows = this.db
      .prepare(`SELECT id, body FROM alert_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ?`)
      .all(...args, q.limit ?? 100) as { id: number; body: string }[];
    return rows.reverse().map((r) => ({ id: r.id, ...(JSON.parse(r.body) as Omit<AlertEvent, 'id'>) }));
  }

  /** Events whose actions have not finished (the process stopped before delivering them). */
  undelivered(): AlertEvent[] {
    const rows = this.db.prepare('SELECT id, body FROM alert_events WHERE delivered = 0 ORDER BY id').all() as { id: number; body: string }[];
    return rows.map((r) => ({ id: r.id, ...(JSON.parse(r.body) as Omit<AlertEvent, 'id'>) }));
  }

  markDelivered(id: number): void {
    this.db.prepare('UPDATE alert_events SET delivered = 1 WHERE id = ?').run(id);
  }

  /** Keeps the newest `keep` events. */
  prune(keep: number): void {
    this.db.prepare('DELETE FROM alert_events WHERE id <= (SELECT max(id) FROM alert_events) - ? AND delivered = 1').run(keep);
  }

  close(): void {
    this.db.close();
  }
}
