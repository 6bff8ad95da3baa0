import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, it } from 'vitest';

/**
 * PostgreSQL for tests: `BERTH_TEST_POSTGRES_URL` (CI sets it; .ci/run defaults it to
 * postgres://postgres@127.0.0.1:5432/test). Every store under test gets a schema of its own,
 * dropped afterwards, so parallel test files and reruns never see each other's rows.
 */
export const postgresUrl = process.env.BERTH_TEST_POSTGRES_URL || undefined;

/** A fresh schema name, unique per call. */
export function schemaName(): string {
  return `berth_test_${randomBytes(6).toString('hex')}`;
}

/** The test URL with Berth's `schema` parameter added. */
export function withSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('schema', schema);
  return u.toString();
}

/** Runs SQL on the test database outside any store (to inspect, tamper or clean up). */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** Drops a schema made by a test, with everything in it. */
export async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/**
 * Opens a store on a fresh schema of the test database, for a contract suite's factory: `cleanup`
 * closes the store and drops the schema.
 */
export async function openOnFreshSchema<S extends { close(): Promise<void> }>(
  open: (uri: string) => Promise<S>,
): Promise<{ store: S; cleanup(): Promise<void> }> {
  const schema = schemaName();
  const store = await open(withSchema(postgresUrl!, schema));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await dropSchema(schema);
    },
  };
}

/**
 * Returns a maker of fresh schemas on the test database (the name, and the test URL naming it);
 * every schema it made is dropped after the test file. Call it at the top of the file.
 */
export function freshSchemas(): () => { schema: string; uri: string } {
  const made: string[] = [];
  afterAll(async () => {
    if (postgresUrl) for (const schema of made) await dropSchema(schema);
  });
  return () => {
    const schema = schemaName();
    made.push(schema);
    return { schema, uri: withSchema(postgresUrl!, schema) };
  };
}

/** Registers a skipped placeholder and prints why, when BERTH_TEST_POSTGRES_URL is not set. */
export function reportPostgresSkipped(suite: string): void {
  describe(suite, () => {
    it.skip('skipped: set BERTH_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run it', () => {});
  });
  process.stdout.write(`${suite}: skipped (BERTH_TEST_POSTGRES_URL is not set)\n`);
}
