import { errors, isBerthError } from '../../errors.js';
import type { FeatureDtype, FeatureRepo, FeatureViewDef, SourceDef } from '../definitions.js';
import { viewJoinKeys } from '../layout.js';
import { id, lit, openDuck, readSource, sqlType } from './duckdb.js';

/** One entity's latest row in a window, ready for the online store. */
export interface LatestRow {
  key: string;
  eventTs: number;
  createdTs: number;
  /** JSON array text of the view's features in view order. */
  values: string;
}

/** A feature as JSON: float32 through its shortest text (0.1, not 0.10000000149), timestamps as epoch seconds. */
function jsonValue(name: string, dtype: FeatureDtype): string {
  const v = `CAST(${id(name)} AS ${sqlType(dtype)})`;
  if (dtype === 'float32') return `CAST(CAST(${v} AS VARCHAR) AS DOUBLE)`;
  if (dtype === 'unix_timestamp') return `CAST(epoch(${v}) AS BIGINT)`;
  return v;
}

/**
 * Streams the latest row per entity of a view with event time in [startMs, endMs], in chunks of at
 * most `chunkRows`; DuckDB keeps one aggregate state per entity, so memory follows the number of
 * entities, not the number of source rows. `total` gets an estimate of the entity count first.
 */
export async function* latestRows(
  repo: FeatureRepo,
  view: FeatureViewDef,
  startMs: number,
  endMs: number,
  opts: { chunkRows?: number; total?: (n: number) => void; tempDir?: string } = {},
): AsyncGenerator<LatestRow[]> {
  const src = repo.sources.find((s) => s.name === view.source) as SourceDef | undefined;
  if (!src) throw errors.notFound(`source '${view.source}' of feature view '${view.name}' is not applied`);
  const keys = viewJoinKeys(repo, view);
  const keyExpr = keys.length === 1 ? `CAST(${id(keys[0] as string)} AS VARCHAR)` : `concat_ws(chr(31), ${keys.map((k) => `CAST(${id(k)} AS VARCHAR)`).join(', ')})`;
  const ts = `CAST(${id(src.timestamp_field)} AS TIMESTAMP)`;
  const created = src.created_timestamp_field ? `coalesce(epoch_ms(CAST(${id(src.created_timestamp_field)} AS TIMESTAMP)), 0)` : '0';
  const where = `${ts} BETWEEN make_timestamp(${Math.trunc(startMs * 1000)}) AND make_timestamp(${Math.trunc(endMs * 1000)})`;
  const row = `json_array(${view.features.map((f) => jsonValue(f.name, f.dtype)).join(', ')})::VARCHAR`;
  const inner = `SELECT ${keyExpr} AS k, epoch_ms(${ts}) AS ets, ${created} AS cts, ${row} AS vals FROM ${readSource(src)} WHERE ${where}`;
  const sql = `SELECT k, max_by(struct_pack(e := ets, c := cts, v := vals), (ets, cts)) AS r FROM (${inner}) GROUP BY k`;
  const duck = await openDuck();
  const chunkRows = opts.chunkRows ?? 10_000;
  try {
    if (opts.tempDir) await duck.conn.run(`SET temp_directory = ${lit(opts.tempDir)}`);
    if (opts.total) {
      const n = await duck.conn.runAndReadAll(`SELECT approx_count_distinct(${keyExpr})::DOUBLE AS n FROM ${readSource(src)} WHERE ${where}`);
      opts.total(Number(n.getRowObjects()[0]?.['n'] ?? 0));
    }
    const result = await duck.conn.stream(`SELECT k, r.e::DOUBLE AS e, r.c::DOUBLE AS c, r.v AS v FROM (${sql})`);
    let batch: LatestRow[] = [];
    for await (const rows of result.yieldRowsJs()) {
      for (const r of rows) batch.push({ key: String(r[0]), eventTs: Number(r[1]), createdTs: Number(r[2]), values: String(r[3]) });
      if (batch.length >= chunkRows) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  } catch (e) {
    if (isBerthError(e)) throw e;
    throw errors.badRequest(`reading source '${src.name}' (${src.path}) failed: ${(e as Error).message.split('\n')[0]}`, `sources.${src.name}`);
  } finally {
    duck.close();
  }
}
