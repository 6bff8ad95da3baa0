import { openSqlite } from '../sqlite.js';
import type Database from 'better-sqlite3';
import type { EntityDef, FeatureRepo, FeatureServiceDef, FeatureViewDef, SourceDef } from './definitions.js';

export type ObjectKind = 'entity' | 'source' | 'feature_view' | 'feature_service';
export type PlanAction = 'create' | 'change' | 'remove' | 'unchanged';

/** One line of an apply plan. */
export interface PlanItem {
  kind: ObjectKind;
  name: string;
  action: PlanAction;
}

const KINDS: { kind: ObjectKind; key: keyof FeatureRepo }[] = [
  { kind: 'entity', key: 'entities' },
  { kind: 'source', key: 'sources' },
  { kind: 'feature_view', key: 'feature_views' },
  { kind: 'feature_service', key: 'feature_services' },
];

/** The applied definitions and the materialization watermarks, in SQLite under BERTH_HOME. */
export class FeatureRegistry {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = openSqlite(path);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS feature_objects (kind TEXT NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL,
        updated_at TEXT NOT NULL, PRIMARY KEY (kind, name));
      CREATE TABLE IF NOT EXISTS feature_materializations (view TEXT PRIMARY KEY, end_ms INTEGER NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS feature_meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);`);
  }

  /** The applied definitions. */
  load(): FeatureRepo {
    const repo: FeatureRepo = { entities: [], sources: [], feature_views: [], feature_services: [] };
    const rows = this.db.prepare('SELECT kind, spec FROM feature_objects ORDER BY kind, name').all() as { kind: ObjectKind; spec: string }[];
    for (const r of rows) {
      const spec: unknown = JSON.parse(r.spec);
      if (r.kind === 'entity') repo.entities.push(spec as EntityDef);
      else if (r.kind === 'source') repo.sources.push(spec as SourceDef);
      else if (r.kind === 'feature_view') repo.feature_views.push(spec as FeatureViewDef);
      else repo.feature_services.push(spec as FeatureServiceDef);
    }
    return repo;
  }

  /** Increases on every apply that changes something; servers poll it to reload. */
  generation(): number {
    const row = this.db.prepare("SELECT v FROM feature_meta WHERE k = 'generation'").get() as { v: number } | undefined;
    return row?.v ?? 0;
  }

  /** What applying `repo` would create, change and remove. */
  plan(repo: FeatureRepo): PlanItem[] {
    const current = new Map<string, string>();
    for (const r of this.db.prepare('SELECT kind, name, spec FROM feature_objects').all() as { kind: string; name: string; spec: string }[]) {
      current.set(`${r.kind}\u0000${r.name}`, r.spec);
    }
    const items: PlanItem[] = [];
    for (const { kind, key } of KINDS) {
      const wanted = new Set<string>();
      for (const obj of repo[key]) {
        wanted.add(obj.name);
        const old = current.get(`${kind}\u0000${obj.name}`);
        items.push({ kind, name: obj.name, action: old === undefined ? 'create' : old === JSON.stringify(obj) ? 'unchanged' : 'change' });
      }
      for (const id of current.keys()) {
        const [k, name] = id.split('\u0000') as [string, string];
        if (k === kind && !wanted.has(name)) items.push({ kind, name, action: 'remove' });
      }
    }
    return items;
  }

  /** Makes the stored definitions equal to `repo`; returns the plan it carried out. */
  apply(repo: FeatureRepo): PlanItem[] {
    const plan = this.plan(repo);
    if (plan.every((p) => p.action === 'unchanged')) return plan;
    const now = new Date().toISOString();
    const put = this.db.prepare(
      'INSERT INTO feature_objects (kind, name, spec, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at',
    );
    const del = this.db.prepare('DELETE FROM feature_objects WHERE kind = ? AND name = ?');
    const delMat = this.db.prepare('DELETE FROM feature_materializations WHERE view = ?');
    this.db.transaction(() => {
      for (const { kind, key } of KINDS) {
        for (const obj of repo[key]) {
          const item = plan.find((p) => p.kind === kind && p.name === obj.name);
          if (item?.action !== 'unchanged') put.run(kind, obj.name, JSON.stringify(obj), now);
        }
      }
      for (const p of plan) {
        if (p.action !== 'remove') continue;
        del.run(p.kind, p.name);
        if (p.kind === 'feature_view') delMat.run(p.name);
      }
      this.db.prepare("INSERT INTO feature_meta (k, v) VALUES ('generation', 1) ON CONFLICT (k) DO UPDATE SET v = v + 1").run();
    })();
    return plan;
  }

  /** The end of the last materialization of a view, epoch ms. */
  materializedUntil(view: string): number | undefined {
    const row = this.db.prepare('SELECT end_ms FROM feature_materializations WHERE view = ?').get(view) as { end_ms: number } | undefined;
    return row?.end_ms;
  }

  /** Records that a view is materialized up to `endMs` (never moves backwards). */
  setMaterialized(view: string, endMs: number): void {
    this.db
      .prepare(
        `INSERT INTO feature_materializations (view, end_ms, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (view) DO UPDATE SET end_ms = max(end_ms, excluded.end_ms), updated_at = excluded.updated_at`,
      )
      .run(view, endMs, new Date().toISOString());
  }

  /** Forgets a view's watermark (its online rows were dropped). */
  resetMaterialized(view: string): void {
    this.db.prepare('DELETE FROM feature_materializations WHERE view = ?').run(view);
  }

  close(): void {
    this.db.close();
  }
}
