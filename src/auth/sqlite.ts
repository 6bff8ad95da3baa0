import { openSqlite } from '../sqlite.js';
import type Database from 'better-sqlite3';
import { errors } from '../errors.js';
import type { ApiToken, Role, TokenStore } from './types.js';

interface Row {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
}

const toToken = (r: Row): ApiToken => ({
  id: r.id,
  name: r.name,
  role: r.role,
  prefix: r.prefix,
  createdAt: r.created_at,
  revokedAt: r.revoked_at,
});

/** Tokens in SQLite (WAL), in the same database file as the registry by default. */
export class SqliteTokenStore implements TokenStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = openSqlite(path);
    this.db.exec(`CREATE TABLE IF NOT EXISTS api_tokens (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('read', 'deploy', 'admin')),
      prefix TEXT NOT NULL,
      hash TEXT NOT NULL UNIQUE,
      created_at TEXT NOT NULL,
      revoked_at TEXT
    )`);
  }

  async insert(token: ApiToken, hash: string): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO api_tokens (id, name, role, prefix, hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(token.id, token.name, token.role, token.prefix, hash, token.createdAt, token.revokedAt);
  }

  async findByHash(hash: string): Promise<ApiToken | undefined> {
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE hash = ?').get(hash) as Row | undefined;
    return row && toToken(row);
  }

  async list(): Promise<ApiToken[]> {
    const rows = this.db.prepare('SELECT * FROM api_tokens ORDER BY created_at DESC, id').all() as Row[];
    return rows.map(toToken);
  }

  async revoke(id: string): Promise<ApiToken> {
    const now = new Date().toISOString();
    this.db.prepare('UPDATE api_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?').run(now, id);
    const row = this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw errors.notFound(`no token with id '${id}'`);
    return toToken(row);
  }

  async countActive(): Promise<number> {
    const row = this.db.prepare('SELECT count(*) AS n FROM api_tokens WHERE revoked_at IS NULL').get() as {
      n: number;
    };
    return row.n;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
