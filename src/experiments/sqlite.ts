import { changeWatcher, openSqlite } from '../sqlite.js';
import type Database from 'better-sqlite3';
import { errors } from '../errors.js';
import type { ArmTotals, Experiment, ExperimentStore, Exposure, OutcomeResult } from './types.js';

interface ExperimentRow {
  name: string;
  spec: string;
  status: 'running' | 'stopped';
  created_at: string;
  stopped_at: string | null;
}

const toExperiment = (r: ExperimentRow): Experiment => ({
  ...(JSON.parse(r.spec) as Omit<Experiment, 'status' | 'created_at' | 'stopped_at'>),
  name: r.name,
  status: r.status,
  created_at: r.created_at,
  stopped_at: r.stopped_at,
});

const EXPOSED_CACHE = 1_000_000;
const byKey = (a: [string, string], b: [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
/** Request mappings per INSERT statement (3 parameters each, well under SQLite's limit). */
const REQUEST_ROWS = 128;

/**
 * Experiments in SQLite (WAL). `exp_arms` holds each arm's n, Σx and Σx² so that a report reads a
 * handful of rows; `exp_units` holds each unit's variant and current value (for deduplication);
 * `exp_requests` maps request ids to units so that outcomes can name a response.
 */
export class SqliteExperimentStore implements ExperimentStore {
  private readonly db: Database.Database;
  /** Whether another connection committed since the last call (see changeWatcher). */
  readonly changedElsewhere: () => boolean;
  /** Units this process has written, per experiment, so repeat visitors cost no insert (bounded). */
  private readonly exposed = new Map<string, Set<string>>();

  constructor(path: string) {
    this.db = openSqlite(path);
    // exposures insert all over exp_units and exp_requests: a larger page cache keeps their B-trees'
    // pages in memory, and a larger WAL copies a page rewritten by many batches back once, not per batch
    this.db.pragma('cache_size = -32768');
    this.db.pragma('wal_autocheckpoint = 4096');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS experiments (
        name TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'stopped')),
        created_at TEXT NOT NULL,
        stopped_at TEXT
      );
      CREATE TABLE IF NOT EXISTS exp_arms (
        experiment TEXT NOT NULL,
        variant TEXT NOT NULL,
        n INTEGER NOT NULL DEFAULT 0,
        sum REAL NOT NULL DEFAULT 0,
        sumsq REAL NOT NULL DEFAULT 0,
        msprt_p REAL NOT NULL DEFAULT 1,
        PRIMARY KEY (experiment, variant)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS exp_units (
        experiment TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        variant TEXT NOT NULL,
        value REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (experiment, unit_id)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS exp_requests (
        experiment TEXT NOT NULL,
        request_id TEXT NOT NULL,
        unit_id TEXT NOT NULL,
        PRIMARY KEY (experiment, request_id)
      ) WITHOUT ROWID;`);
    this.changedElsewhere = changeWatcher(this.db);
  }

  async create(e: Experiment): Promise<void> {
    const { name, status, created_at, stopped_at, ...spec } = e;
    this.db.transaction(() => {
      const exists = this.db.prepare('SELECT 1 FROM experiments WHERE name = ?').get(name);
      if (exists) throw errors.conflict(`experiment '${name}' already exists`);
      this.db
        .prepare('INSERT INTO experiments (name, spec, status, created_at, stopped_at) VALUES (?, ?, ?, ?, ?)')
        .run(name, JSON.stringify(spec), status, created_at, stopped_at);
      const arm = this.db.prepare('INSERT INTO exp_arms (experiment, variant) VALUES (?, ?)');
      for (const v of e.variants) arm.run(name, v.name);
    })();
  }

  async get(name: string): Promise<Experiment | undefined> {
    const row = this.db.prepare('SELECT * FROM experiments WHERE name = ?').get(name) as ExperimentRow | undefined;
    return row && toExperiment(row);
  }

  async list(): Promise<Experiment[]> {
    return (this.db.prepare('SELECT * FROM experiments ORDER BY created_at, name').all() as ExperimentRow[]).map(toExperiment);
  }

  async stop(name: string, at: string): Promise<Experiment> {
    this.db.prepare("UPDATE experiments SET status = 'stopped', stopped_at = coalesce(stopped_at, ?) WHERE name = ?").run(at, name);
    const e = await this.get(name);
    if (!e) throw errors.notFound(`experiment '${name}' not found`);
    return e;
  }

  async expose(experiment: Experiment, exposures: Exposure[]): Promise<void> {
    const name = experiment.name;
    let known = this.exposed.get(name);
    if (known === undefined || known.size > EXPOSED_CACHE) {
      known = new Set();
      this.exposed.set(name, known);
    }
    // units this process has not written yet, and request mappings, each sorted by key: inserting
    // in key order walks the B-tree's pages once each instead of jumping between them per row
    const fresh = new Map<string, string>();
    const requests: [string, string][] = [];
    for (const x of exposures) {
      if (!known.has(x.unitId) && !fresh.has(x.unitId)) fresh.set(x.unitId, x.variant);
      if (x.requestId !== undefined) requests.push([x.requestId, x.unitId]);
    }
    const units = [...fresh].sort(byKey);
    requests.sort(byKey);
    const joined = new Map<string, number>();
    this.db.transaction(() => {
      const unit = this.db.prepare('INSERT OR IGNORE INTO exp_units (experiment, unit_id, variant) VALUES (?, ?, ?)');
      for (const [unitId, variant] of units) {
        if (unit.run(name, unitId, variant).changes > 0) joined.set(variant, (joined.get(variant) ?? 0) + 1);
      }
      for (let i = 0; i < requests.length; i += REQUEST_ROWS) {
        const chunk = requests.slice(i, i + REQUEST_ROWS);
        const params: string[] = [];
        for (const [requestId, unitId] of chunk) params.push(name, requestId, unitId);
        this.requestInsert(chunk.length).run(params);
      }
      const arm = this.db.prepare('UPDATE exp_arms SET n = n + ? WHERE experiment = ? AND variant = ?');
      for (const [variant, n] of joined) arm.run(n, name, variant);
    })();
    for (const [u] of units) known.add(u);
  }

  private readonly inserts = new Map<number, Database.Statement>();

  /** `INSERT OR IGNORE` of `rows` request mappings in one statement (SQLite's per-statement cost dominates). */
  private requestInsert(rows: number): Database.Statement {
    let st = this.inserts.get(rows);
    if (st === undefined) {
      const values = Array.from({ length: rows }, () => '(?, ?, ?)').join(', ');
      st = this.db.prepare(`INSERT OR IGNORE INTO exp_requests (experiment, request_id, unit_id) VALUES ${values}`);
      this.inserts.set(rows, st);
    }
    return st;
  }

  async recordOutcomes(
    experiment: Experiment,
    items: { unitId?: string; requestId?: string; value: number; variant?: string }[],
    assignNew: boolean,
  ): Promise<OutcomeResult> {
    const name = experiment.name;
    const byRequest = this.db.prepare('SELECT unit_id FROM exp_requests WHERE experiment = ? AND request_id = ?').pluck();
    const getUnit = this.db.prepare('SELECT variant, value FROM exp_units WHERE experiment = ? AND unit_id = ?');
    const newUnit = this.db.prepare('INSERT INTO exp_units (experiment, unit_id, variant) VALUES (?, ?, ?)');
    const setUnit = this.db.prepare('UPDATE exp_units SET value = ? WHERE experiment = ? AND unit_id = ?');
    const arm = this.db.prepare(
      'UPDATE exp_arms SET n = n + ?, sum = sum + ?, sumsq = sumsq + ? WHERE experiment = ? AND variant = ?',
    );
    const binary = experiment.metric === 'binary';
    return this.db.transaction((): OutcomeResult => {
      const unmatched: number[] = [];
      for (const [i, item] of items.entries()) {
        const unitId = item.unitId ?? (byRequest.get(name, item.requestId) as string | undefined);
        if (unitId === undefined) {
          unmatched.push(i);
          continue;
        }
        let unit = getUnit.get(name, unitId) as { variant: string; value: number } | undefined;
        let joined = 0;
        if (unit === undefined) {
          if (!assignNew || item.variant === undefined) {
            unmatched.push(i);
            continue;
          }
          newUnit.run(name, unitId, item.variant);
          unit = { variant: item.variant, value: 0 };
          joined = 1;
        }
        // binary: converted once is converted (max); continuous: a unit's values add up (sum)
        const next = binary ? Math.max(unit.value, item.value) : unit.value + item.value;
        if (next !== unit.value) setUnit.run(next, name, unitId);
        arm.run(joined, next - unit.value, next * next - unit.value * unit.value, name, unit.variant);
      }
      return { accepted: items.length - unmatched.length, unmatched };
    })();
  }

  async totals(name: string): Promise<ArmTotals[]> {
    return this.db
      .prepare('SELECT variant, n, sum, sumsq, msprt_p FROM exp_arms WHERE experiment = ?')
      .all(name) as ArmTotals[];
  }

  async saveMsprt(name: string, values: Map<string, number>): Promise<void> {
    const st = this.db.prepare('UPDATE exp_arms SET msprt_p = min(msprt_p, ?) WHERE experiment = ? AND variant = ?');
    this.db.transaction(() => {
      for (const [variant, p] of values) st.run(p, name, variant);
    })();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
