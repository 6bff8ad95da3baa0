import type pg from 'pg';
import { errors } from '../errors.js';
import { openPgPool, query, transaction } from '../postgres.js';
import type { ApiToken, Role, TokenStore } from './types.js';

interface Row {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

const toToken = (r: Row): ApiToken => ({
  id: r.id,
  name: r.name,
  role: r.role,
  prefix: r.prefix,
  createdAt: r.created_at.toISOString(),
  revokedAt: r.revoked_at === null ? null : r.revoked_at.toISOString(),
});

/** Tokens in PostgreSQL, in the same database (and schema) as the registry metadata. */
export class PostgresTokenStore implements TokenStore {
  private constructor(private readonly pool: pg.Pool) {}

  /** Connects to `postgres://…[?schema=NAME]` and creates the table if missing. */
  static async open(uri: string, poolSize = 4): Promise<PostgresTokenStore> {
    const pool = await openPgPool(uri, poolSize);
    try {
      await transaction(pool, async (c) => {
        // Two servers starting at once would otherwise race on CREATE TABLE IF NOT EXISTS.
        await query(c, `SELECT pg_advisory_xact_lock(hashtext('berth.tokens.' || coalesce(current_schema(), '')))`);
        await query(
          c,
          `CREATE TABLE IF NOT EXISTS api_tokens (
             id          TEXT PRIMARY KEY,
             name        TEXT NOT NULL,
             role        TEXT NOT NULL CHECK (role IN ('read', 'deploy', 'admin')),
             prefix      TEXT NOT NULL,
             hash        TEXT NOT NULL UNIQUE,
             created_at  TIMESTAMPTZ NOT NULL,
             revoked_at  TIMESTAMPTZ
           )`,
        );
      });
    } catch (e) {
      await pool.end();
      throw e;
    }
    return new PostgresTokenStore(pool);
  }

  async insert(token: ApiToken, hash: string): Promise<void> {
    await query(
      this.pool,
      'INSERT INTO api_tokens (id, name, role, prefix, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [token.id, token.name, token.role, token.prefix, hash, token.createdAt, token.revokedAt],
    );
  }

  async findByHash(hash: string): Promise<ApiToken | undefined> {
    const row = (await query<Row>(this.pool, 'SELECT * FROM api_tokens WHERE hash = $1', [hash])).rows[0];
    return row && toToken(row);
  }

  async list(): Promise<ApiToken[]> {
    const { rows } = await query<Row>(this.pool, 'SELECT * FROM api_tokens ORDER BY created_at DESC, id COLLATE "C"');
    return rows.map(toToken);
  }

  async revoke(id: string): Promise<ApiToken> {
    // One statement: the first revocation time wins, and a concurrent revoke cannot move it.
    const { rows } = await query<Row>(
      this.pool,
      'UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 RETURNING *',
      [new Date(), id],
    );
    const row = rows[0];
    if (!row) throw errors.notFound(`no token with id '${id}'`);
    return toToken(row);
  }

  async countActive(): Promise<number> {
    const { rows } = await query<{ n: number }>(
      this.pool,
      'SELECT count(*)::int AS n FROM api_tokens WHERE revoked_at IS NULL',
    );
    return rows[0]!.n;
  }

  async close(): Promise<void> {
    if (!this.pool.ended) await this.pool.end();
  }
}
