import { existsSync } from 'node:fs';
import { errors } from '../../errors.js';
import type { FeatureRepo } from '../definitions.js';
import { viewJoinKeys } from '../layout.js';
import { columnsOf, openDuck } from './duckdb.js';

export { ENTITY_TIMESTAMP, type HistoricalOptions, type HistoricalResult, historicalFeatures } from './historical.js';
export { type LatestRow, latestRows } from './latest.js';

/** Checks every source file exists and has the columns its views read. */
export async function checkRepoSources(repo: FeatureRepo): Promise<void> {
  for (const src of repo.sources) {
    if (!existsSync(src.path)) throw errors.badRequest(`source '${src.name}': file '${src.path}' does not exist`, `sources.${src.name}.path`);
  }
  if (repo.sources.length === 0) return;
  const duck = await openDuck();
  try {
    for (const src of repo.sources) {
      const cols = await columnsOf(duck.conn, src.path, `source ${src.name}`);
      const need = new Set([src.timestamp_field, ...(src.created_timestamp_field ? [src.created_timestamp_field] : [])]);
      for (const v of repo.feature_views.filter((x) => x.source === src.name)) {
        for (const k of viewJoinKeys(repo, v)) need.add(k);
        for (const f of v.features) need.add(f.name);
      }
      const missing = [...need].filter((c) => !cols.includes(c));
      if (missing.length > 0) {
        throw errors.badRequest(
          `source '${src.name}' (${src.path}) has no column ${missing.map((m) => `'${m}'`).join(', ')} (it has ${cols.join(', ')})`,
          `sources.${src.name}`,
        );
      }
    }
  } finally {
    duck.close();
  }
}
