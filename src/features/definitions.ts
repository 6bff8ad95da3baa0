import { readFileSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { isMap } from 'yaml';
import { errors } from '../errors.js';
import { type Path, parseYaml, YamlChecker } from '../yaml-file.js';

/** Feature value types, as Feast names them. */
export const DTYPES = ['bool', 'int32', 'int64', 'float32', 'float64', 'string', 'unix_timestamp'] as const;
export type FeatureDtype = (typeof DTYPES)[number];

export interface EntityDef {
  name: string;
  join_keys: string[];
}

export interface SourceDef {
  name: string;
  /** Absolute path (the file gives it relative to itself). */
  path: string;
  format: 'parquet' | 'csv';
  timestamp_field: string;
  created_timestamp_field?: string;
  /** Rows pushed with `to: offline`, appended as CSV; set when the store loads (never stored). */
  push_log?: string;
}

export interface FeatureDef {
  name: string;
  dtype: FeatureDtype;
}

export interface FeatureViewDef {
  name: string;
  entities: string[];
  source: string;
  /** As written (`2h`); `ttl_seconds` 0 means no limit. */
  ttl: string;
  ttl_seconds: number;
  features: FeatureDef[];
}

export interface FeatureRef {
  view: string;
  feature: string;
}

export interface FeatureServiceDef {
  name: string;
  features: FeatureRef[];
}

/** Everything one definitions file declares. */
export interface FeatureRepo {
  entities: EntityDef[];
  sources: SourceDef[];
  feature_views: FeatureViewDef[];
  feature_services: FeatureServiceDef[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Parses `30s`, `15m`, `2h`, `7d` or `0` (no limit) into seconds; undefined when malformed. */
export function parseTtl(text: string): number | undefined {
  if (text === '0') return 0;
  const m = /^(\d+)([smhd])$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * (UNITS[m[2] as string] as number);
}

/** Parses a `view:feature` reference; undefined when malformed. */
export function parseFeatureRef(text: string): FeatureRef | undefined {
  const m = /^([A-Za-z_][A-Za-z0-9_]*):([A-Za-z_][A-Za-z0-9_]*)$/.exec(text);
  return m ? { view: m[1] as string, feature: m[2] as string } : undefined;
}

/** Walks the parsed YAML, reporting the first problem as `file:line: field: message`. */
class Checker extends YamlChecker {
  name(value: unknown, path: Path): string {
    if (value === undefined || value === null) this.fail(path, 'is required');
    if (typeof value !== 'string' || !NAME.test(value)) this.fail(path, `must be a name of letters, digits and _ (got ${JSON.stringify(value)})`);
    return value;
  }

  names(value: unknown, path: Path): string[] {
    const items = this.list(value, path);
    if (items.length === 0) this.fail(path, 'must not be empty');
    const seen = new Set<string>();
    return items.map((v, i) => {
      const n = this.name(v, [...path, i]);
      if (seen.has(n)) this.fail([...path, i], `'${n}' is listed twice`);
      seen.add(n);
      return n;
    });
  }

  unique<T extends { name: string }>(items: T[], path: Path, what: string): void {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item.name)) this.fail([...path, i, 'name'], `${what} '${item.name}' is declared twice`);
      seen.add(item.name);
    });
  }
}

/** Parses and validates a definitions file's text; relative source paths resolve against `baseDir`. */
export function parseRepo(text: string, baseDir: string, file = 'features.yaml'): FeatureRepo {
  const source = parseYaml(text, file);
  const doc = source.doc;
  const c: Checker = new Checker(source);
  if (doc.contents !== null && !isMap(doc.contents)) c.fail([], 'the file must be a mapping with entities, sources, feature_views, feature_services');
  const top = c.map(doc.toJS() ?? {}, [], ['entities', 'sources', 'feature_views', 'feature_services']);

  const entities = c.list(top.entities, ['entities'], true).map((raw, i): EntityDef => {
    const p = ['entities', i];
    const o = c.map(raw, p, ['name', 'join_keys', 'description']);
    return { name: c.name(o.name, [...p, 'name']), join_keys: c.names(o.join_keys, [...p, 'join_keys']) };
  });
  c.unique(entities, ['entities'], 'entity');

  const sources = c.list(top.sources, ['sources'], true).map((raw, i): SourceDef => {
    const p = ['sources', i];
    const o = c.map(raw, p, ['name', 'path', 'timestamp_field', 'created_timestamp_field', 'description']);
    const name = c.name(o.name, [...p, 'name']);
    if (typeof o.path !== 'string' || o.path === '') c.fail([...p, 'path'], 'is required (a Parquet or CSV file, relative to this file)');
    const ext = extname(o.path).toLowerCase();
    if (ext !== '.parquet' && ext !== '.csv') c.fail([...p, 'path'], `must end in .parquet or .csv (got '${o.path}')`);
    const def: SourceDef = {
      name,
      path: resolve(baseDir, o.path),
      format: ext === '.csv' ? 'csv' : 'parquet',
      timestamp_field: c.name(o.timestamp_field, [...p, 'timestamp_field']),
    };
    if (o.created_timestamp_field !== undefined) def.created_timestamp_field = c.name(o.created_timestamp_field, [...p, 'created_timestamp_field']);
    return def;
  });
  c.unique(sources, ['sources'], 'source');

  const views = c.list(top.feature_views, ['feature_views'], true).map((raw, i): FeatureViewDef => {
    const p = ['feature_views', i];
    const o = c.map(raw, p, ['name', 'entities', 'source', 'ttl', 'features', 'description', 'tags']);
    const name = c.name(o.name, [...p, 'name']);
    const ents = c.names(o.entities, [...p, 'entities']);
    ents.forEach((e, j) => {
      if (!entities.some((x) => x.name === e)) c.fail([...p, 'entities', j], `unknown entity '${e}' (declared: ${entities.map((x) => x.name).join(', ') || 'none'})`);
    });
    const source = c.name(o.source, [...p, 'source']);
    if (!sources.some((s) => s.name === source)) c.fail([...p, 'source'], `unknown source '${source}' (declared: ${sources.map((s) => s.name).join(', ') || 'none'})`);
    const ttlText = o.ttl === undefined ? '0' : String(o.ttl);
    const ttl = parseTtl(ttlText);
    if (ttl === undefined) c.fail([...p, 'ttl'], `must be a whole number with a unit s, m, h or d, or 0 for no limit (got '${ttlText}')`);
    const joinKeys = ents.flatMap((e) => entities.find((x) => x.name === e)?.join_keys ?? []);
    const features = c.list(o.features, [...p, 'features']).map((rawF, j): FeatureDef => {
      const fp = [...p, 'features', j];
      const f = c.map(rawF, fp, ['name', 'dtype', 'description']);
      const fname = c.name(f.name, [...fp, 'name']);
      if (joinKeys.includes(fname)) c.fail([...fp, 'name'], `'${fname}' is a join key of the view's entities`);
      if (typeof f.dtype !== 'string' || !(DTYPES as readonly string[]).includes(f.dtype)) {
        c.fail([...fp, 'dtype'], `must be one of ${DTYPES.join(', ')} (got ${JSON.stringify(f.dtype)})`);
      }
      return { name: fname, dtype: f.dtype as FeatureDtype };
    });
    if (features.length === 0) c.fail([...p, 'features'], 'must not be empty');
    c.unique(features, [...p, 'features'], 'feature');
    return { name, entities: ents, source, ttl: ttlText, ttl_seconds: ttl, features };
  });
  c.unique(views, ['feature_views'], 'feature view');

  const services = c.list(top.feature_services, ['feature_services'], true).map((raw, i): FeatureServiceDef => {
    const p = ['feature_services', i];
    const o = c.map(raw, p, ['name', 'features', 'description', 'tags']);
    const name = c.name(o.name, [...p, 'name']);
    const refs = c.list(o.features, [...p, 'features']);
    if (refs.length === 0) c.fail([...p, 'features'], 'must not be empty');
    const seen = new Set<string>();
    const features = refs.map((r, j): FeatureRef => {
      const ref = typeof r === 'string' ? parseFeatureRef(r) : undefined;
      if (!ref) c.fail([...p, 'features', j], `must be 'view:feature' (got ${JSON.stringify(r)})`);
      const view = views.find((v) => v.name === ref.view);
      if (!view) c.fail([...p, 'features', j], `unknown feature view '${ref.view}'`);
      if (!view.features.some((f) => f.name === ref.feature)) c.fail([...p, 'features', j], `feature view '${ref.view}' has no feature '${ref.feature}'`);
      if (seen.has(r as string)) c.fail([...p, 'features', j], `'${r}' is listed twice`);
      seen.add(r as string);
      return ref;
    });
    return { name, features };
  });
  c.unique(services, ['feature_services'], 'feature service');
  return { entities, sources, feature_views: views, feature_services: services };
}

/** Reads and validates a definitions file. */
export function loadRepoFile(path: string): FeatureRepo {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw errors.badRequest(`cannot read definitions file '${path}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'FILE');
  }
  return parseRepo(text, dirname(resolve(path)), basename(path));
}
