import type Database from 'better-sqlite3';
import pino, { type Logger } from 'pino';
import { errors } from '../errors.js';
import { changeWatcher, openSqlite } from '../sqlite.js';
import { ExposureWriter, type ExposureWriterOptions } from './exposure-writer.js';
import { ExposureApplier, encodeExposures } from './exposures.js';
import { EXPERIMENTS_SCHEMA, tuneForExposures } from './schema.js';
import type { ArmTotals, Experiment, ExperimentStore, Exposure, OutcomeResult } from './types.js';

interface ExperimentRow {
  name: string;
  spec: string;
  status: 'running' | 'stopped';
  created_at: string;
  stopped_at: string | null;
}

/** Where the store reports lost exposures when it was given no logger: stderr, warnings and up. */
const defaultLogger = (): Pick<Logger, 'warn' | 'error'> => pino({ level: 'warn', base: { component: 'experiments' } }, pino.destination(2));

const toExperiment = (r: ExperimentRow): Experiment => ({
  ...(JSON.parse(r.spec) as Omit<Experiment, 'status' | 'created_at' | 'stopped_at'>),
  name: r.name,
  status: r.status,
  created_at: r.created_at,
  stopped_at: r.stopped_at,
});

/** Options of the SQLite store. */
export interface SqliteExperimentStoreOptions {
  /**
   * Where exposures are written: `thread` (default for a file) on a writer thread with its own
   * connection, or `inline` on the calling thread (always for ':memory:', which one connection owns).
   */
  exposures?: 'thread' | 'inline';
  /** Bounds of the writer thread's queue (see ExposureWriter). */
  writer?: Omit<ExposureWriterOptions, 'logger'>;
  /** Where lost exposures and writer restarts are reported. */
  logger?: Pick<Logger, 'warn' | 'error'>;
}

/**
 * Experiments in SQLite (WAL); see schema.ts for the tables. Exposures, the one write on the hot
 * path, go to a writer thread as compact batches (exposures.ts); everything else runs on this
 * connection, and whatever reads or changes arms first waits until every exposure batch handed over
 * before it is committed, so a report or an outcome never misses an exposure.
 */
export class SqliteExperimentStore implements ExperimentStore {
  private readonly db: Database.Database;
  /** Whether another connection committed since the last call (see changeWatcher). */
  readonly changedElsewhere: () => boolean;
  private readonly writer: ExposureWriter | undefined;
  private readonly inline: ExposureApplier | undefined;

  constructor(path: string, opts: SqliteExperimentStoreOptions = {}) {
    this.db = tuneForExposures(openSqlite(path));
    this.db.exec(EXPERIMENTS_SCHEMA);
    this.changedElsewhere = changeWatcher(this.db);
    if (path === ':memory:' || opts.exposures === 'inline') this.inline = new ExposureApplier(this.db);
    else this.writer = new ExposureWriter(path, { ...opts.writer, logger: opts.logger ?? defaultLogger() });
  }

  /** Exposures lost by the writer thread (it died twice with them, a write failed, or it fell too far behind). */
  get lostExposures(): number {
    return this.writer?.lost ?? 0;
  }

  /** The exposure writer thread, if this store has one (tests crash it). */
  get exposureWriter(): ExposureWriter | undefined {
    return this.writer;
  }

  async create(e: Experiment): Promise<void> {
    const { name, status, created_at, stopped_at, ...spec } = e;
    this.db
      .transaction(() => {
        const exists = this.db.prepare('SELECT 1 FROM experiments WHERE name = ?').get(name);
        if (exists) throw errors.conflict(`experiment '${name}' already exists`);
        this.db
          .prepare('INSERT INTO experiments (name, spec, status, created_at, stopped_at) VALUES (?, ?, ?, ?, ?)')
          .run(name, JSON.stringify(spec), status, created_at, stopped_at);
        const arm = this.db.prepare('INSERT INTO exp_arms (experiment, variant) VALUES (?, ?)');
        for (const v of e.variants) arm.run(name, v.name);
      })
      .immediate();
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

  /** Hands the exposures to the writer thread; resolves once they are committed. */
  expose(experiment: Experiment, exposures: Exposure[]): Promise<void> {
    if (exposures.length === 0) return Promise.resolve();
    const batch = encodeExposures(experiment, exposures);
    if (this.writer !== undefined) return this.writer.write(batch);
    try {
      this.inline?.apply(batch);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async recordOutcomes(
    experiment: Experiment,
    items: { unitId?: string; requestId?: string; value: number; variant?: string }[],
    assignNew: boolean,
  ): Promise<OutcomeResult> {
    await this.writer?.flush();
    const name = experiment.name;
    const byRequest = this.db.prepare('SELECT unit_id FROM exp_requests WHERE experiment = ? AND request_id = ?').pluck();
    const getUnit = this.db.prepare('SELECT variant, value FROM exp_units WHERE experiment = ? AND unit_id = ?');
    const newUnit = this.db.prepare('INSERT INTO exp_units (experiment, unit_id, variant) VALUES (?, ?, ?)');
    const setUnit = this.db.prepare('UPDATE exp_units SET value = ? WHERE experiment = ? AND unit_id = ?');
    const arm = this.db.prepare(
      'UPDATE exp_arms SET n = n + ?, sum = sum + ?, sumsq = sumsq + ? WHERE experiment = ? AND variant = ?',
    );
    const binary = experiment.metric === 'binary';
    // IMMEDIATE: the write lock before the first read, so that a unit new to the experiment is
    // inserted (and counted) by this transaction or by the writer thread's, never by both
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
    }).immediate();
  }

  async totals(name: string): Promise<ArmTotals[]> {
    await this.writer?.flush();
    return this.db
      .prepare('SELECT variant, n, sum, sumsq, msprt_p FROM exp_arms WHERE experiment = ?')
      .all(name) as ArmTotals[];
  }

  async saveMsprt(name: string, values: Map<string, number>): Promise<void> {
    const st = this.db.prepare('UPDATE exp_arms SET msprt_p = min(msprt_p, ?) WHERE experiment = ? AND variant = ?');
    this.db.transaction(() => {
      for (const [variant, p] of values) st.run(p, name, variant);
    }).immediate();
  }

  /** Commits the exposures handed over, stops the writer thread and closes the connection. */
  async close(): Promise<void> {
    await this.writer?.close();
    this.db.close();
  }
}
