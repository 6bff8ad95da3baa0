import { type BerthError, errors } from '../errors.js';
import { type AliasRow, rollbackStack } from './rows.js';

/**
 * What every RegistryStore refuses, and how an alias's rollback stack moves, decided once so that
 * the engines agree on behaviour and on every message. The engines only run the SQL around them.
 */

/** NOT_FOUND errors for what a lookup did not find. */
export const missing = {
  model: (name: string): BerthError => errors.notFound(`model '${name}' not found`),
  version: (name: string, version: number): BerthError => errors.notFound(`model '${name}' has no version ${version}`),
  alias: (name: string, alias: string): BerthError => errors.notFound(`model '${name}' has no alias '${alias}'`),
};

/** CONFLICT while the model has aliases (`aliases`, sorted): deleting it would leave them dangling. */
export function refuseModelDelete(name: string, aliases: string[]): void {
  if (aliases.length > 0) {
    throw errors.conflict(`model '${name}' still has aliases (${aliases.join(', ')}); delete them first`);
  }
}

/** CONFLICT while aliases (`aliases`, sorted) point at the version. */
export function refuseVersionDelete(name: string, version: number, aliases: string[]): void {
  if (aliases.length > 0) {
    throw errors.conflict(
      `version ${version} of '${name}' is aliased as ${aliases.join(', ')}; move or delete the alias first`,
    );
  }
}

/** The rollback stack once the alias (now at `current`, if it exists) points at `version`. */
export function stackAfterSet(current: AliasRow | undefined, version: number): number[] {
  const stack = rollbackStack(current);
  // Re-pointing at the same version is recorded but pushes nothing: a rollback must move somewhere.
  if (current !== undefined && current.version !== version) stack.push(current.version);
  return stack;
}

/**
 * Where a rollback moves the alias: the newest version on its stack that still exists (`exists`:
 * those of the stack's versions not deleted since) and is not the current one; the stack returned
 * has it and everything above it popped. CONFLICT when there is nothing to go back to.
 */
export function rollbackTarget(
  name: string,
  current: AliasRow,
  exists: ReadonlySet<number>,
): { target: number; stack: number[] } {
  const stack = rollbackStack(current);
  while (stack.length > 0) {
    const candidate = stack.pop()!;
    if (candidate !== current.version && exists.has(candidate)) return { target: candidate, stack };
  }
  throw errors.conflict(`alias '${current.alias}' of '${name}' has no earlier version to roll back to`);
}
