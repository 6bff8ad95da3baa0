import { BerthError } from '../errors.js';

/** What the engines' schema.ts files share: the shape of a migration and the newer-schema refusal. */

/** One schema change: run once, in order, and recorded in the database's `schema_version` table. */
export interface Migration {
  version: number;
  sql: string;
}

/** The schema version a database is at once every migration has run (0 for none). */
export function targetVersion(migrations: readonly Migration[]): number {
  return migrations[migrations.length - 1]?.version ?? 0;
}

/** INTERNAL when a newer Berth wrote the database: this one would misread it, so it does not start. */
export function refuseNewerSchema(found: number, supported: number): void {
  if (found > supported) {
    throw new BerthError(
      'INTERNAL',
      `registry database schema version ${found} is newer than this Berth supports (${supported}); upgrade Berth`,
    );
  }
}
