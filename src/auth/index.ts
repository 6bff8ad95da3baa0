export { PostgresTokenStore } from './postgres.js';
export { SqliteTokenStore } from './sqlite.js';
export { bearerSecret, Tokens } from './tokens.js';
export { type ApiToken, isRole, ROLES, type Role, roleAllows, type TokenStore } from './types.js';
