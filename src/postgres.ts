import pg from 'pg';
import { BerthError, errors, isBerthError } from './errors.js';

/**
 * Opens PostgreSQL the way every Berth store wants it, as src/sqlite.ts does for SQLite: one pool per
 * store, an optional schema (`?schema=NAME`, created if missing) that every connection uses as its
 * search_path, and transactions that retry when PostgreSQL aborts them for a deadlock or a
 * serialization failure.
 */

/** A connection that can run queries: the pool itself or a client checked out of it. */
export type Queryable = Pick<pg.PoolClient, 'query'>;

/** What a `postgres://` store URI says, once Berth's own parameters are taken out. */
export interface PostgresTarget {
  /** The URI handed to node-postgres (without `schema=`). */
  connectionString: string;
  /** The schema from `?schema=NAME`, if given. */
  schema?: string;
}

// Lower case only: PostgreSQL folds unquoted names, and the search_path option is not quoted.
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** True for a `postgres://` or `postgresql://` URI. */
export function isPostgresUri(uri: string): boolean {
  return uri.startsWith('postgres://') || uri.startsWith('postgresql://');
}

/** Splits Berth's `schema` parameter off a store URI, checking it is a plain identifier. */
export function parsePostgresUri(uri: string): PostgresTarget {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw errors.badRequest(`store URI '${redact(uri)}' is not a valid URL (e.g. postgres://user@host:5432/db)`, 'store');
  }
  const schema = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  if (schema !== undefined && !IDENTIFIER.test(schema)) {
    throw errors.badRequest(
      `invalid schema '${schema}' in store URI: use lower-case letters, digits and _ (at most 63, not starting with a digit)`,
      'store',
    );
  }
  return { connectionString: url.toString(), ...(schema === undefined ? {} : { schema }) };
}

/** Opens a pool on the URI, creating the schema it names; fails early (NOT_READY) if the server is unreachable. */
export async function openPgPool(uri: string, max = 10): Promise<pg.Pool> {
  const target = parsePostgresUri(uri);
  const pool = new pg.Pool({
    connectionString: target.connectionString,
    max,
    // A server that does not answer fails the call (NOT_READY) after 10 s instead of hanging it.
    connectionTimeoutMillis: 10_000,
    // A startup parameter, so the search_path is in force before the first query on every connection.
    ...(target.schema === undefined ? {} : { options: `-c search_path=${target.schema}` }),
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener that kills the process.
  pool.on('error', () => {});
  try {
    if (target.schema !== undefined) {
      await transaction(pool, async (c) => {
        // Serialized by an advisory lock: two concurrent CREATE SCHEMA IF NOT EXISTS can still collide.
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`berth.schema.${target.schema}`]);
        await c.query(`CREATE SCHEMA IF NOT EXISTS "${target.schema}"`);
      });
    } else {
      await query(pool, 'SELECT 1');
    }
  } catch (e) {
    await pool.end();
    throw e;
  }
  return pool;
}

/** Runs one statement, mapping driver errors to BerthErrors. */
export async function query<R extends pg.QueryResultRow>(
  db: Queryable,
  sql: string,
  params: unknown[] = [],
): Promise<pg.QueryResult<R>> {
  try {
    return await db.query<R>(sql, params);
  } catch (e) {
    throw mapPgError(e);
  }
}

// 40001 serialization_failure, 40P01 deadlock_detected: the transaction did nothing and may simply run again.
const RETRYABLE = new Set(['40001', '40P01']);

/**
 * Runs `fn` in a transaction on one pooled client: COMMIT when it resolves, ROLLBACK when it throws.
 * A transaction PostgreSQL aborted for a deadlock or serialization failure is run again (up to 5 times).
 */
export async function transaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (e) {
      throw mapPgError(e);
    }
    let broken = false;
    try {
      await client.query(begin);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true; // the connection is gone: do not hand it back to the pool
      }
      const code = pgCode(e);
      if (code !== undefined && RETRYABLE.has(code) && attempt < 5) continue;
      throw mapPgError(e);
    } finally {
      client.release(broken);
    }
  }
}

/** The SQLSTATE of a node-postgres error, if it is one. */
export function pgCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Maps a driver error to a BerthError: constraint violations are CONFLICT (another writer got there
 * first), an unreachable or shutting-down server is NOT_READY (503: retry later), the rest INTERNAL.
 */
export function mapPgError(e: unknown): BerthError {
  if (isBerthError(e)) return e;
  const code = pgCode(e);
  const message = e instanceof Error ? e.message : String(e);
  if (code?.startsWith('23')) return errors.conflict(`registry database refused the change: ${message}`);
  const sys = (e as { code?: unknown } | null)?.code;
  if (
    code?.startsWith('08') ||
    code?.startsWith('57P') ||
    code === '53300' ||
    (typeof sys === 'string' && /^E[A-Z]+$/.test(sys)) ||
    /Connection terminated|timeout exceeded when trying to connect|Cannot use a pool after calling end/.test(message)
  ) {
    return new BerthError('NOT_READY', `PostgreSQL is unavailable: ${message}`, { cause: e });
  }
  return new BerthError('INTERNAL', `PostgreSQL error${code ? ` ${code}` : ''}: ${message}`, { cause: e });
}

/** The URI with any password replaced, for messages. */
function redact(uri: string): string {
  return uri.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
