import { createHash, randomBytes } from 'node:crypto';
import { errors } from '../errors.js';
import { type ApiToken, isRole, type Role, roleAllows, type TokenStore } from './types.js';

const TOKEN_PREFIX = 'berth_';
/** How long an authentication result is trusted before the store is asked again (revocation delay). */
const CACHE_MS = 2_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Issues, checks and revokes API tokens. Tokens carry 256 random bits, so an unsalted SHA-256 is enough. */
export class Tokens {
  private readonly cache = new Map<string, { token: ApiToken | undefined; until: number }>();

  constructor(private readonly store: TokenStore) {}

  /** Creates a token; the secret is returned here once and never again. */
  async create(role: Role, name = ''): Promise<{ secret: string; token: ApiToken }> {
    if (!isRole(role)) throw errors.badRequest(`role must be one of read, deploy, admin (got '${String(role)}')`, 'role');
    const secret = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const token: ApiToken = {
      id: randomBytes(6).toString('hex'),
      name: name || `${role}-token`,
      role,
      prefix: secret.slice(0, TOKEN_PREFIX.length + 6),
      createdAt: new Date().toISOString(),
      revokedAt: null,
    };
    await this.store.insert(token, sha256(secret));
    return { secret, token };
  }

  list(): Promise<ApiToken[]> {
    return this.store.list();
  }

  async revoke(id: string): Promise<ApiToken> {
    const token = await this.store.revoke(id);
    this.cache.clear();
    return token;
  }

  /** True when at least one usable token exists, which turns authentication on. */
  async any(): Promise<boolean> {
    return (await this.store.countActive()) > 0;
  }

  /**
   * Checks a bearer secret against the role a call needs; throws UNAUTHENTICATED or FORBIDDEN.
   * Results are cached briefly so the hot path does not hit the store on every request.
   */
  async authorize(secret: string | undefined, required: Role): Promise<ApiToken> {
    if (!secret) throw errors.unauthenticated('missing API token: send "Authorization: Bearer <token>"');
    const hash = sha256(secret);
    const now = Date.now();
    let entry = this.cache.get(hash);
    if (!entry || entry.until < now) {
      const found = await this.store.findByHash(hash);
      entry = { token: found && found.revokedAt === null ? found : undefined, until: now + CACHE_MS };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, entry);
    }
    const token = entry.token;
    if (!token) throw errors.unauthenticated('invalid or revoked API token');
    if (!roleAllows(token.role, required)) {
      throw errors.forbidden(`this call needs the '${required}' role; token '${token.name}' has '${token.role}'`);
    }
    return token;
  }
}

/** Extracts the secret from an `Authorization: Bearer …` header value. */
export function bearerSecret(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}
