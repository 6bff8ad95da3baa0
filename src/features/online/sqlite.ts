import { openSqlite } from '../../sqlite.js';
import type Database from 'better-sqlite3';
import type { OnlineKey, OnlineRecord, OnlineStore, OnlineWrite } from './store.js';

type Row = [view: string, eventTs: number, createdTs: number, values: string | null];

/**
 * Rows are kept in (entity key, view) order, so one entity's views sit side by side in one B-tree
 * leaf and a layout read is one index seek and a short scan, in one statement. The first layout,
 * `online_features`, was (view, key) ordered: a read cost a seek and a statement per view (and, for
 * want of a transaction, a lock round trip per view). It is copied over once, on open.
 */
const TABLE = 'online_records';
const V1_TABLE = 'online_features';

/** Unit separator: never in a view name (definitions only allow identifiers). */
const SEP = '\u001f';

/** The embedded online store: one SQLite table, read synchronously with prepared statements. */
export class SqliteOnlineStore implements OnlineStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement;
  /** Every view stored for one entity key; values only for the views named in the first parameter. */
  private readonly byKey: Database.Statement<[string, string], Row>;
  private readonly writeMany: (records: OnlineWrite[]) => void;
  private readonly readKeys: (out: (OnlineRecord | undefined)[], keys: OnlineKey[], byKey: Map<string, number[]>) => void;

  constructor(path: string) {
    this.db = openSqlite(path);
    this.db.pragma('mmap_size = 1073741824');
    this.db.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (
      key TEXT NOT NULL, view TEXT NOT NULL, event_ts INTEGER NOT NULL, created_ts INTEGER NOT NULL, vals TEXT NOT NULL,
      PRIMARY KEY (key, view)) WITHOUT ROWID`);
    const newer = `WHERE excluded.event_ts > ${TABLE}.event_ts
         OR (excluded.event_ts = ${TABLE}.event_ts AND excluded.created_ts >= ${TABLE}.created_ts)`;
    this.upsert = this.db.prepare(`INSERT INTO ${TABLE} (key, view, event_ts, created_ts, vals) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (key, view) DO UPDATE SET event_ts = excluded.event_ts, created_ts = excluded.created_ts, vals = excluded.vals ${newer}`);
    migrateV1(this.db, newer);
    // raw rows (arrays) are about twice as fast to hand over as objects; the values of views nobody
    // asked for stay in SQLite (instr over a short string costs less than making a JS string)
    this.byKey = this.db
      .prepare<[string, string], Row>(
        `SELECT view, event_ts, created_ts, CASE WHEN instr(?, char(31) || view || char(31)) > 0 THEN vals END FROM ${TABLE} WHERE key = ?`,
      )
      .raw(true);
    this.writeMany = this.db.transaction((records: OnlineWrite[]) => {
      for (const r of records) this.upsert.run(r.key, r.view, r.eventTs, r.createdTs, r.values);
    });
    // several entity keys: one read transaction (one WAL lock round trip), a statement per key
    this.readKeys = this.db.transaction((out: (OnlineRecord | undefined)[], keys: OnlineKey[], byKey: Map<string, number[]>) => {
      for (const [key, at] of byKey) this.readKey(out, keys, key, at, 0, at.length);
    });
  }

  async write(records: OnlineWrite[]): Promise<void> {
    this.writeMany(records);
  }

  async read(keys: OnlineKey[]): Promise<(OnlineRecord | undefined)[]> {
    return this.readSync(keys);
  }

  /** The same as `read`, without the promise (the embedded store answers at once). */
  readSync(keys: OnlineKey[]): (OnlineRecord | undefined)[] {
    const out = new Array<OnlineRecord | undefined>(keys.length).fill(undefined);
    if (keys.length === 0) return out;
    const first = (keys[0] as OnlineKey).key;
    let one = true;
    for (let i = 1; i < keys.length && one; i++) one = (keys[i] as OnlineKey).key === first;
    if (one) {
      // one entity, any number of views (a single-entity layout read): one statement
      this.readKey(out, keys, first, undefined, 0, keys.length);
      return out;
    }
    const byKey = new Map<string, number[]>();
    for (let i = 0; i < keys.length; i++) {
      const k = (keys[i] as OnlineKey).key;
      const at = byKey.get(k);
      if (at) at.push(i);
      else byKey.set(k, [i]);
    }
    this.readKeys(out, keys, byKey);
    return out;
  }

  /** Fills `out` at the positions (`at[from..to)`, or `from..to` when `at` is absent) that ask for `key`. */
  private readKey(out: (OnlineRecord | undefined)[], keys: OnlineKey[], key: string, at: number[] | undefined, from: number, to: number): void {
    let wanted = SEP;
    for (let j = from; j < to; j++) wanted += (keys[at ? (at[j] as number) : j] as OnlineKey).view + SEP;
    for (const row of this.byKey.all(wanted, key)) {
      const values = row[3];
      if (values === null) continue;
      const rec: OnlineRecord = { eventTs: row[1], createdTs: row[2], values };
      for (let j = from; j < to; j++) {
        const p = at ? (at[j] as number) : j;
        if ((keys[p] as OnlineKey).view === row[0]) out[p] = rec;
      }
    }
  }

  async deleteView(view: string): Promise<void> {
    // a scan of the table (rows are keyed by entity first); only an apply that reshapes a view does it
    this.db.prepare(`DELETE FROM ${TABLE} WHERE view = ?`).run(view);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** Copies the rows of the first table layout into the current one (newer wins) and drops it, once. */
function migrateV1(db: Database.Database, newer: string): void {
  const exists = () => db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '${V1_TABLE}'`).get() !== undefined;
  if (!exists()) return;
  db.transaction(() => {
    if (!exists()) return; // another process migrated first
    db.exec(`INSERT INTO ${TABLE} (key, view, event_ts, created_ts, vals) SELECT key, view, event_ts, created_ts, vals FROM ${V1_TABLE} WHERE true
      ON CONFLICT (key, view) DO UPDATE SET event_ts = excluded.event_ts, created_ts = excluded.created_ts, vals = excluded.vals ${newer};
      DROP TABLE ${V1_TABLE};`);
  }).immediate();
}
