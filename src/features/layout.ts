import { errors } from '../errors.js';
import { type FeatureDtype, type FeatureRef, type FeatureRepo, type FeatureViewDef, parseFeatureRef } from './definitions.js';

/** One requested feature: where its value sits in its view's stored row, and its output name. */
export interface FeaturePick {
  name: string;
  dtype: FeatureDtype;
  /** Position in the view's stored values. */
  index: number;
  outName: string;
}

/** The features wanted from one view: one online read (or one offline join) per entity row. */
export interface ViewGroup {
  view: FeatureViewDef;
  joinKeys: string[];
  ttlMs: number;
  picks: FeaturePick[];
}

/** How a request's features map to views and output columns, computed once per service or feature list. */
export interface Layout {
  /** Every join key the views need, in first-seen order. */
  joinKeys: string[];
  groups: ViewGroup[];
  /** Output feature names in the requested order. */
  featureNames: string[];
  /** For each output feature: [group index, pick index]. */
  order: [number, number][];
  /** Join keys then feature names: the answer's `feature_names`, built once. */
  outputNames: string[];
}

/** The join keys of a view, from its entities. */
export function viewJoinKeys(repo: FeatureRepo, view: FeatureViewDef): string[] {
  return view.entities.flatMap((e) => repo.entities.find((x) => x.name === e)?.join_keys ?? []);
}

/** Parses `view:feature` strings, naming the bad one. */
export function parseRefs(list: unknown, field: string): FeatureRef[] {
  if (!Array.isArray(list) || list.length === 0) throw errors.badRequest(`${field} must be a non-empty list of 'view:feature' strings`, field);
  return list.map((t, i) => {
    const ref = typeof t === 'string' ? parseFeatureRef(t) : undefined;
    if (!ref) throw errors.badRequest(`${field}[${i}] must be 'view:feature' (got ${JSON.stringify(t)})`, `${field}[${i}]`);
    return ref;
  });
}

/** Resolves feature references against the applied definitions into a layout. */
export function compileLayout(repo: FeatureRepo, refs: FeatureRef[], fullNames: boolean, field = 'features'): Layout {
  const groups: ViewGroup[] = [];
  const order: [number, number][] = [];
  const featureNames: string[] = [];
  const joinKeys: string[] = [];
  refs.forEach((ref, i) => {
    const view = repo.feature_views.find((v) => v.name === ref.view);
    if (!view) throw errors.badRequest(`${field}[${i}]: unknown feature view '${ref.view}' in '${ref.view}:${ref.feature}'`, `${field}[${i}]`);
    const index = view.features.findIndex((f) => f.name === ref.feature);
    const def = view.features[index];
    if (!def) throw errors.badRequest(`${field}[${i}]: feature view '${ref.view}' has no feature '${ref.feature}'`, `${field}[${i}]`);
    let g = groups.findIndex((x) => x.view.name === view.name);
    if (g < 0) {
      const keys = viewJoinKeys(repo, view);
      for (const k of keys) if (!joinKeys.includes(k)) joinKeys.push(k);
      groups.push({ view, joinKeys: keys, ttlMs: view.ttl_seconds * 1000, picks: [] });
      g = groups.length - 1;
    }
    const group = groups[g] as ViewGroup;
    const outName = fullNames ? `${view.name}__${def.name}` : def.name;
    if (featureNames.includes(outName)) {
      throw errors.badRequest(
        `${field}[${i}]: feature name '${outName}' appears twice${fullNames ? '' : '; ask for full feature names (view__feature)'}`,
        `${field}[${i}]`,
      );
    }
    if (joinKeys.includes(outName)) throw errors.badRequest(`${field}[${i}]: feature '${outName}' has the name of a join key`, `${field}[${i}]`);
    featureNames.push(outName);
    group.picks.push({ name: def.name, dtype: def.dtype, index, outName });
    order.push([g, group.picks.length - 1]);
  });
  return { joinKeys, groups, featureNames, order, outputNames: [...joinKeys, ...featureNames] };
}
