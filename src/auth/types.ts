/** Roles, weakest first: each role may do everything the ones before it may. */
export const ROLES = ['read', 'deploy', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** A stored API token: the secret itself is never stored, only its SHA-256. */
export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  /** The first characters of the secret, to tell tokens apart in listings. */
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

/** Token storage: one implementation per engine, like the registry's. */
export interface TokenStore {
  insert(token: ApiToken, hash: string): Promise<void>;
  findByHash(hash: string): Promise<ApiToken | undefined>;
  /** Newest first, revoked ones included. */
  list(): Promise<ApiToken[]>;
  /** Marks the token revoked; NOT_FOUND if there is no such id. */
  revoke(id: string): Promise<ApiToken>;
  /** How many tokens are usable (not revoked). */
  countActive(): Promise<number>;
  close(): Promise<void>;
}

/** True when `role` may do what `required` allows. */
export function roleAllows(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

/** Narrows a string to a Role. */
export function isRole(s: unknown): s is Role {
  return typeof s === 'string' && (ROLES as readonly string[]).includes(s);
}
