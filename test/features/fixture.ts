import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Hand-checkable driver data: a TTL boundary, an event-time tie broken by created time, a null value. */
export const DRIVER_STATS = `driver_id,event_timestamp,created,conv_rate,trips
1001,2026-01-01 10:00:00,2026-01-01 10:00:00,0.1,1
1001,2026-01-01 11:00:00,2026-01-01 11:30:00,0.25,3
1001,2026-01-01 11:00:00,2026-01-01 11:00:00,0.2,2
1002,2026-01-01 09:00:00,2026-01-01 09:00:00,0.5,5
1002,2026-01-01 12:00:00,2026-01-01 12:00:00,,6
1004,2026-01-01 11:00:00,2026-01-01 11:00:00,0.7,7
1004,2026-01-01 11:00:00,2026-01-01 11:05:00,0.8,8
`;

export const DRIVER_DAILY = `driver_id,day,rating
1001,2025-12-01 00:00:00,4.5
1002,2025-06-01 00:00:00,3.9
`;

/** The definitions file of the tests (paths relative to it). */
export function repoYaml(opts: { ttl?: string; extraFeature?: boolean; withDaily?: boolean } = {}): string {
  return `entities:
  - name: driver
    join_keys: [driver_id]
  - name: pair
    join_keys: [driver_id, rider_id]
sources:
  - name: driver_stats
    path: data/driver_stats.csv
    timestamp_field: event_timestamp
    created_timestamp_field: created
${opts.withDaily === false ? '' : `  - name: driver_daily
    path: data/driver_daily.csv
    timestamp_field: day
`}feature_views:
  - name: driver_hourly
    entities: [driver]
    source: driver_stats
    ttl: ${opts.ttl ?? '2h'}
    features:
      - { name: conv_rate, dtype: float32 }
      - { name: trips, dtype: int64 }
${opts.extraFeature ? '      - { name: created, dtype: unix_timestamp }\n' : ''}${opts.withDaily === false ? '' : `  - name: driver_profile
    entities: [driver]
    source: driver_daily
    ttl: 0
    features:
      - { name: rating, dtype: float64 }
`}feature_services:
  - name: driver_model_v1
    features: [driver_hourly:conv_rate, driver_hourly:trips]
`;
}

/** Writes the data files and the definitions into `dir`; returns the definitions path. */
export function writeRepo(dir: string, opts: Parameters<typeof repoYaml>[0] = {}): string {
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'data', 'driver_stats.csv'), DRIVER_STATS);
  writeFileSync(join(dir, 'data', 'driver_daily.csv'), DRIVER_DAILY);
  const file = join(dir, 'features.yaml');
  writeFileSync(file, repoYaml(opts));
  return file;
}
