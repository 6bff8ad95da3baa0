import { extname } from 'node:path';
import { errors, isBerthError } from '../../errors.js';
import type { FeatureRepo, SourceDef } from '../definitions.js';
import type { Layout, ViewGroup } from '../layout.js';
import { columnsOf, id, lit, openDuck, readFile, readSource, sqlType } from './duckdb.js';

export const ENTITY_TIMESTAMP = 'event_timestamp';

export interface HistoricalOptions {
  /** Entity rows: a Parquet or CSV file with the join keys and `event_timestamp`. */
  entities: string;
  /** Write the training set here (Parquet or CSV by extension); without it the rows are returned. */
  output?: string;
}

export interface HistoricalResult {
  rows: number;
  columns: string[];
  /** The rows, when no output file was asked for. */
  data?: Record<string, unknown>[];
}

/** The source rows of one view, one per (keys, event time): the newest created time wins ties. */
function sourceSql(group: ViewGroup, src: SourceDef): string {
  const keys = group.joinKeys.map(id);
  const cols = [
    ...keys,
    `CAST(${id(src.timestamp_field)} AS TIMESTAMP) AS __ts`,
    ...group.picks.map((p, i) => `CAST(${id(p.name)} AS ${sqlType(p.dtype)}) AS __f${i}`),
  ];
  const base = `SELECT ${cols.join(', ')}${src.created_timestamp_field ? `, CAST(${id(src.created_timestamp_field)} AS TIMESTAMP) AS __created` : ''} FROM ${readSource(src)}`;
  if (!src.created_timestamp_field) return base;
  return `${base} QUALIFY row_number() OVER (PARTITION BY ${[...keys, '__ts'].join(', ')} ORDER BY __created DESC NULLS LAST) = 1`;
}

/** Checks a view's source has the columns the layout reads. */
async function checkSource(conn: Parameters<typeof columnsOf>[0], group: ViewGroup, src: SourceDef): Promise<void> {
  const cols = await columnsOf(conn, src.path, `source ${src.name}`);
  const need = [...group.joinKeys, src.timestamp_field, ...(src.created_timestamp_field ? [src.created_timestamp_field] : []), ...group.picks.map((p) => p.name)];
  const missing = need.filter((c) => !cols.includes(c));
  if (missing.length > 0) {
    throw errors.badRequest(`source '${src.name}' (${src.path}) has no column ${missing.map((m) => `'${m}'`).join(', ')} (it has ${cols.join(', ')})`, `sources.${src.name}`);
  }
}

/**
 * Point-in-time correct training set: for each entity row and view, the latest source row with the
 * same keys at or before the row's time and no older than the TTL (inclusive); ties go to the newest
 * created time; no match is null. Entity rows keep their order and columns.
 */
export async function historicalFeatures(repo: FeatureRepo, layout: Layout, opts: HistoricalOptions): Promise<HistoricalResult> {
  const duck = await openDuck();
  const { conn } = duck;
  try {
    const entityCols = await columnsOf(conn, opts.entities, '--entities');
    const needed = [...layout.joinKeys, ENTITY_TIMESTAMP].filter((c) => !entityCols.includes(c));
    if (needed.length > 0) {
      throw errors.badRequest(`--entities file '${opts.entities}' has no column ${needed.map((c) => `'${c}'`).join(', ')} (it has ${entityCols.join(', ')})`, '--entities');
    }
    const clash = layout.featureNames.filter((f) => entityCols.includes(f));
    if (clash.length > 0) throw errors.badRequest(`feature column ${clash.map((c) => `'${c}'`).join(', ')} would overwrite an entity file column; use full feature names`, 'features');
    for (const g of layout.groups) {
      const src = repo.sources.find((s) => s.name === g.view.source);
      if (!src) throw errors.notFound(`source '${g.view.source}' of feature view '${g.view.name}' is not applied`);
      await checkSource(conn, g, src);
    }
    // A table keeps the file's row order in rowid; the join results are put back in that order.
    await conn.run(`CREATE TEMP TABLE __entities AS SELECT * FROM ${readFile(opts.entities)}`);
    const badTs = await conn.runAndReadAll(`SELECT count(*) AS n FROM __entities WHERE TRY_CAST(${id(ENTITY_TIMESTAMP)} AS TIMESTAMP) IS NULL`);
    if (Number(badTs.getRowObjects()[0]?.['n'] ?? 0) > 0) {
      throw errors.badRequest(`--entities: every row needs a valid ${ENTITY_TIMESTAMP}`, '--entities');
    }
    const ctes: string[] = [
      `__e AS (SELECT rowid AS __rid, ${layout.joinKeys.map(id).join(', ')}, CAST(${id(ENTITY_TIMESTAMP)} AS TIMESTAMP) AS __ets FROM __entities)`,
    ];
    layout.groups.forEach((g, gi) => {
      const src = repo.sources.find((s) => s.name === g.view.source) as SourceDef;
      ctes.push(`__s${gi} AS (${sourceSql(g, src)})`);
      const on = [...g.joinKeys.map((k) => `e.${id(k)} = s.${id(k)}`), 'e.__ets >= s.__ts'].join(' AND ');
      const fresh = g.view.ttl_seconds > 0 ? `s.__ts IS NOT NULL AND e.__ets - s.__ts <= INTERVAL ${g.view.ttl_seconds} SECOND` : 's.__ts IS NOT NULL';
      const vals = g.picks.map((_p, i) => `CASE WHEN ${fresh} THEN s.__f${i} END AS __f${i}`);
      ctes.push(`__j${gi} AS (SELECT e.__rid, ${vals.join(', ')} FROM __e e ASOF LEFT JOIN __s${gi} s ON ${on})`);
    });
    const outCols = layout.order.map(([g, p], i) => `__j${g}.__f${p} AS ${id(layout.featureNames[i] as string)}`);
    const joins = layout.groups.map((_g, gi) => `LEFT JOIN __j${gi} ON __j${gi}.__rid = t.rowid`).join(' ');
    const query = `WITH ${ctes.join(', ')} SELECT t.*, ${outCols.join(', ')} FROM __entities t ${joins} ORDER BY t.rowid`;
    const columns = [...entityCols, ...layout.featureNames];
    if (opts.output) {
      const format = extname(opts.output).toLowerCase() === '.csv' ? 'CSV, HEADER' : 'PARQUET';
      const r = await conn.runAndReadAll(`COPY (${query}) TO ${lit(opts.output)} (FORMAT ${format})`);
      return { rows: Number(r.rowsChanged), columns };
    }
    const r = await conn.runAndReadAll(query);
    const data = r.getRowObjectsJS() as Record<string, unknown>[];
    return { rows: data.length, columns, data };
  } catch (e) {
    if (isBerthError(e)) throw e;
    throw errors.badRequest(`historical retrieval failed: ${(e as Error).message.split('\n')[0]}`, 'features');
  } finally {
    duck.close();
  }
}
