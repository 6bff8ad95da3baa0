import type Database from 'better-sqlite3';
import { changeWatcher, openSqlite } from '../sqlite.js';
import {
  ACTIVE,
  type DeployEvent,
  type Deployment,
  type DeploymentPatch,
  type DeploymentStatus,
  type DeploymentStore,
} from './types.js';

interface Row {
  id: number;
  model: string;
  status: DeploymentStatus;
  doc: string;
}

interface EventRow {
  id: number;
  model: string;
  deployment_id: number;
  type: DeployEvent['type'];
  message: string;
  data: string;
  at: string;
}

const toDeployment = (r: Row): Deployment => ({ ...(JSON.parse(r.doc) as Deployment), id: r.id, status: r.status });

const toEvent = (r: EventRow): DeployEvent => ({
  id: r.id,
  model: r.model,
  deployment_id: r.deployment_id,
  type: r.type,
  message: r.message,
  data: JSON.parse(r.data) as Record<string, unknown>,
  at: r.at,
});

/**
 * Deployments in SQLite (WAL): one row per deployment holding its document, with the status in its own
 * column so that compare-and-set updates (server vs a local CLI) and the active index stay cheap.
 */
export class SqliteDeploymentStore implements DeploymentStore {
  private readonly db: Database.Database;
  /** Whether another connection committed since the last call (see changeWatcher). */
  readonly changedElsewhere: () => boolean;

  constructor(path: string) {
    this.db = openSqlite(path);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS deployments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL,
        status TEXT NOT NULL,
        doc TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS deployments_model ON deployments (model, id);
      CREATE TABLE IF NOT EXISTS deploy_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL,
        deployment_id INTEGER NOT NULL,
        type TEXT NOT NULL,
        message TEXT NOT NULL,
        data TEXT NOT NULL,
        at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS deploy_events_model ON deploy_events (model, id);`);
    this.changedElsewhere = changeWatcher(this.db);
  }

  async create(d: Omit<Deployment, 'id'>): Promise<Deployment> {
    const info = this.db
      .prepare('INSERT INTO deployments (model, status, doc) VALUES (?, ?, ?)')
      .run(d.model, d.status, JSON.stringify(d));
    return { ...d, id: Number(info.lastInsertRowid) };
  }

  async get(id: number): Promise<Deployment | undefined> {
    const r = this.db.prepare('SELECT * FROM deployments WHERE id = ?').get(id) as Row | undefined;
    return r && toDeployment(r);
  }

  async latest(model: string): Promise<Deployment | undefined> {
    const r = this.db.prepare('SELECT * FROM deployments WHERE model = ? ORDER BY id DESC LIMIT 1').get(model) as Row | undefined;
    return r && toDeployment(r);
  }

  async list(model?: string): Promise<Deployment[]> {
    const rows = (
      model === undefined
        ? this.db.prepare('SELECT * FROM deployments ORDER BY id DESC').all()
        : this.db.prepare('SELECT * FROM deployments WHERE model = ? ORDER BY id DESC').all(model)
    ) as Row[];
    return rows.map(toDeployment);
  }

  async active(): Promise<Deployment[]> {
    const marks = ACTIVE.map(() => '?').join(', ');
    const rows = this.db.prepare(`SELECT * FROM deployments WHERE status IN (${marks}) ORDER BY id`).all(...ACTIVE) as Row[];
    return rows.map(toDeployment);
  }

  async update(id: number, patch: DeploymentPatch, from?: readonly DeploymentStatus[]): Promise<Deployment | undefined> {
    return this.db.transaction(() => {
      const r = this.db.prepare('SELECT * FROM deployments WHERE id = ?').get(id) as Row | undefined;
      if (r === undefined) return undefined;
      const d = toDeployment(r);
      if (from !== undefined && !from.includes(d.status)) return undefined;
      const next: Deployment = { ...d, ...patch, updated_at: new Date().toISOString() };
      this.db.prepare('UPDATE deployments SET status = ?, doc = ? WHERE id = ?').run(next.status, JSON.stringify(next), id);
      return next;
    })();
  }

  async addEvent(e: Omit<DeployEvent, 'id'>): Promise<DeployEvent> {
    const info = this.db
      .prepare('INSERT INTO deploy_events (model, deployment_id, type, message, data, at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.model, e.deployment_id, e.type, e.message, JSON.stringify(e.data), e.at);
    return { ...e, id: Number(info.lastInsertRowid) };
  }

  async events(model: string, after = 0, limit = 1000): Promise<DeployEvent[]> {
    const rows = this.db
      .prepare('SELECT * FROM deploy_events WHERE model = ? AND id > ? ORDER BY id LIMIT ?')
      .all(model, after, limit) as EventRow[];
    return rows.map(toEvent);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
