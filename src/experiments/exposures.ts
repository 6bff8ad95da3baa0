/**
 * Exposures as the SQLite store moves them: a compact batch (one string, one Uint32Array) that the
 * main thread builds in a few ns per exposure and posts to the writer thread, and the transaction
 * that applies a batch. Shared by the writer thread (exposure-thread.ts) and the in-process path of
 * an in-memory store.
 */
import type Database from 'better-sqlite3';
import type { Experiment, Exposure } from './types.js';

/** `meta` holds this many numbers per exposure: unit id length, request id length (or NO_REQUEST), variant index. */
const FIELDS = 3;
/** A request id length meaning "no request id" (a real one is shorter than 4 GiB). */
const NO_REQUEST = 0xffffffff;

/**
 * Exposures of one experiment: every unit id and request id concatenated into `text`, their lengths
 * and the variant's index into `variants` in `meta`. Posting it copies one string and one buffer
 * instead of structured-cloning thousands of objects.
 */
export interface ExposureBatch {
  experiment: string;
  variants: string[];
  text: string;
  meta: Uint32Array;
}

/** Packs exposures into a batch (the main thread's whole share of the work). */
export function encodeExposures(experiment: Experiment, exposures: Exposure[]): ExposureBatch {
  const variants = experiment.variants.map((v) => v.name);
  const meta = new Uint32Array(exposures.length * FIELDS);
  const parts: string[] = [];
  let j = 0;
  for (const x of exposures) {
    parts.push(x.unitId);
    meta[j] = x.unitId.length;
    if (x.requestId === undefined) meta[j + 1] = NO_REQUEST;
    else {
      parts.push(x.requestId);
      meta[j + 1] = x.requestId.length;
    }
    // two or three variants: a scan beats a Map
    let v = 0;
    while (v < variants.length && variants[v] !== x.variant) v++;
    meta[j + 2] = v;
    j += FIELDS;
  }
  return { experiment: experiment.name, variants, text: parts.join(''), meta };
}

/** The number of exposures in a batch. */
export const batchSize = (b: ExposureBatch): number => b.meta.length / FIELDS;

/** Bytes a batch holds in memory (for the writer's in-flight bound). */
export const batchBytes = (b: ExposureBatch): number => b.text.length * 2 + b.meta.byteLength;

const byKey = (a: [string, string], b: [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
/** Units remembered per experiment as already written, so repeat visitors cost no insert. */
const KNOWN_UNITS = 1_000_000;

/**
 * Writes exposure batches to one connection: new units join their arm (n + 1) and request ids map
 * to units, all in one BEGIN IMMEDIATE transaction per batch. IMMEDIATE takes the write lock before
 * the first read, so a unit that another connection (outcomes for a new unit) adds at the same time
 * is inserted by exactly one of the two, and counted once: INSERT OR IGNORE reports no change for
 * the loser. The lock waits out the other connection through busy_timeout (openSqlite sets it).
 * Rows go in as one JSON array per statement (json_each): SQLite's per-statement and per-binding
 * costs, not the B-tree, dominate row-at-a-time inserts.
 */
export class ExposureApplier {
  /** Units this connection has written, per experiment (bounded): they cost no insert again. */
  private readonly known = new Map<string, Set<string>>();
  private readonly units: Database.Statement;
  private readonly requests: Database.Statement;
  private readonly arm: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.units = db.prepare('INSERT OR IGNORE INTO exp_units (experiment, unit_id, variant) SELECT ?, value, ? FROM json_each(?)');
    this.requests = db.prepare(
      "INSERT OR IGNORE INTO exp_requests (experiment, request_id, unit_id) SELECT ?, value ->> 0, value ->> 1 FROM json_each(?)",
    );
    this.arm = db.prepare('UPDATE exp_arms SET n = n + ? WHERE experiment = ? AND variant = ?');
  }

  /** Applies one batch in one transaction. */
  apply(b: ExposureBatch): void {
    const name = b.experiment;
    let known = this.known.get(name);
    if (known === undefined || known.size > KNOWN_UNITS) {
      known = new Set();
      this.known.set(name, known);
    }
    // units not written yet, per variant, and request mappings, each sorted by key: inserting in key
    // order walks the B-tree's pages once each instead of jumping between them per row
    const { text, meta, variants } = b;
    const fresh: string[][] = variants.map(() => []);
    const seen = new Set<string>();
    const requests: [string, string][] = [];
    let at = 0;
    for (let j = 0; j < meta.length; j += FIELDS) {
      const unitEnd = at + (meta[j] as number);
      const unitId = text.slice(at, unitEnd);
      at = unitEnd;
      if (!known.has(unitId) && !seen.has(unitId)) {
        seen.add(unitId);
        fresh[meta[j + 2] as number]?.push(unitId);
      }
      const requestLength = meta[j + 1] as number;
      if (requestLength !== NO_REQUEST) {
        requests.push([text.slice(at, at + requestLength), unitId]);
        at += requestLength;
      }
    }
    for (const units of fresh) units.sort();
    requests.sort(byKey);
    this.db
      .transaction(() => {
        fresh.forEach((units, v) => {
          if (units.length === 0) return;
          const joined = this.units.run(name, variants[v], JSON.stringify(units)).changes;
          if (joined > 0) this.arm.run(joined, name, variants[v]);
        });
        if (requests.length > 0) this.requests.run(name, JSON.stringify(requests));
      })
      .immediate();
    for (const u of seen) known.add(u);
  }
}

/** What the writer thread is started with. */
export interface ExposureThreadInit {
  path: string;
}

/** Messages to the writer thread: handled in the order posted. */
export type ToExposureThread =
  | { op: 'expose'; seq: number; batch: ExposureBatch }
  /** Closes the connection and ends the thread; every batch posted before has been answered. */
  | { op: 'exit' };

/** The writer thread's answer to one batch: committed, or failed with `error` (nothing of it written). */
export interface FromExposureThread {
  seq: number;
  error?: string;
}
