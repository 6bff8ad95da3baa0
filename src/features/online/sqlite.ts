import { openSqlite } from '../../sqlite.js';
import type Database from 'better-sqlite3';
import type { OnlineKey, OnlineRecord, OnlineStore, OnlineWrite } from './store.js';

const MANY_MAX = 128;

/** The embedded online store: one SQLite table, read synchronously with prepared statements. */
export class SqliteOnlineStore implements OnlineStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement;
  private readonly get: Database.Statement<[string, string], [number, number, string]>;
  /** `key IN (?, …)` statements by arity, so a many-entity read is one statement per view. */
  private readonly many = new Map<number, Database.Statement<string[], [string, number, number, string]>>();
  private readonly writeMany: (records: OnlineWrite[]) => void;

  constructor(path: string) {
    this.db = openSqlite(path);
    this.db.pragma('mmap_size = 1073741824');
    this.db.exec(`CREATE TABLE IF NOT EXISTS online_features (
      view TEXT NOT NULL, key TEXT NOT NULL, event_ts INTEGER NOT NULL, created_ts INTEGER NOT NULL, vals TEXT NOT NULL,
      PRIMARY KEY (view, key)) WITHOUT ROWID`);
    this.upsert = this.db.prepare(`INSERT INTO online_features (view, key, event_ts, created_ts, vals) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (view, key) DO UPDATE SET event_ts = excluded.event_ts, created_ts = excluded.created_ts, vals = excluded.vals
      WHERE excluded.event_ts > online_features.event_ts
         OR (excluded.event_ts = online_features.event_ts AND excluded.created_ts >= online_features.created_ts)`);
    // raw rows (arrays) are about twice as fast to hand over as objects
    this.get = this.db
      .prepare<[string, string], [number, number, string]>('SELECT event_ts, created_ts, vals FROM online_features WHERE view = ? AND key = ?')
      .raw(true);
    this.writeMany = this.db.transaction((records: OnlineWrite[]) => {
      for (const r of records) this.upsert.run(r.view, r.key, r.eventTs, r.createdTs, r.values);
    });
  }

  async write(records: OnlineWrite[]): Promise<void> {
    this.writeMany(records);
  }

  async read(keys: OnlineKey[]): Promise<(OnlineRecord | undefined)[]> {
    return this.readSync(keys);
  }

  private manyOf(n: number): Database.Statement<string[], [string, number, number, string]> {
    let st = this.many.get(n);
    if (!st) {
      st = this.db
        .prepare<string[], [string, number, number, string]>(
          `SELECT key, event_ts, created_ts, vals FROM online_features WHERE view = ? AND key IN (${new Array(n).fill('?').join(', ')})`,
        )
        .raw(true);
      this.many.set(n, st);
    }
    return st;
  }

  /** The same as `read`, without the promise (the embedded store answers at once). */
  readSync(keys: OnlineKey[]): (OnlineRecord | undefined)[] {
    const out = new Array<OnlineRecord | undefined>(keys.length);
    // runs of the same view (how layouts ask) are read with one statement per chunk of keys
    let i = 0;
    while (i < keys.length) {
      const view = (keys[i] as OnlineKey).view;
      let j = i + 1;
      while (j < keys.length && (keys[j] as OnlineKey).view === view && j - i < MANY_MAX) j++;
      if (j - i === 1) {
        const row = this.get.get(view, (keys[i] as OnlineKey).key);
        out[i] = row === undefined ? undefined : { eventTs: row[0], createdTs: row[1], values: row[2] };
      } else {
        const args: string[] = [view];
        for (let k = i; k < j; k++) args.push((keys[k] as OnlineKey).key);
        const found = new Map<string, OnlineRecord>();
        for (const [key, eventTs, createdTs, values] of this.manyOf(j - i).all(...args)) found.set(key, { eventTs, createdTs, values });
        for (let k = i; k < j; k++) out[k] = found.get((keys[k] as OnlineKey).key);
      }
      i = j;
    }
    return out;
  }

  async deleteView(view: string): Promise<void> {
    this.db.prepare('DELETE FROM online_features WHERE view = ?').run(view);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
