/**
 * Feature-store enrichment of inference requests. A model version that declares a feature service in
 * its tags may be called with entity keys only; the features are read online (one call per request)
 * and laid out as the model's [-1, k] numeric input.
 *
 * Tags (all but `feature_service` optional):
 * - `feature_service=NAME`: the applied feature service to read.
 * - `feature_columns=a,b,...`: which feature fills each input column, in column order; `feature` or
 *   `view:feature` (needed when two views share a feature name). Default: the service's features in order.
 * - `entity_keys=k1,k2`: the join keys a request must carry (checked against the service's).
 * - `feature_input=NAME`: the model input the features fill; default: the model's only input.
 * - `feature_defaults=a:0,b:1.5`: a value used when a feature is missing, null or expired; a feature
 *   without a default makes such a request fail with a 400 naming the entity and the feature.
 */
import { errors } from '../errors.js';
import type { FeatureStatus, FeatureStore, Layout } from '../features/index.js';
import { float32ToFloat16Bits } from '../onnx/index.js';
import { allocateTensorData, DATATYPE_INFO, type InferRequest, type Tensor, type TensorSpec } from '../protocol/index.js';
import type { ModelVersion } from '../registry/index.js';

/** The version tags that declare a feature service and its input mapping. */
export const FEATURE_TAGS = {
  service: 'feature_service',
  columns: 'feature_columns',
  entityKeys: 'entity_keys',
  input: 'feature_input',
  defaults: 'feature_defaults',
} as const;

/** What enrichment needs of the feature store. */
export type FeatureSource = Pick<FeatureStore, 'layout' | 'getOnlineFeatures'>;

/** How one model version's request becomes its feature input; built once per version and layout. */
interface FeaturePlan {
  /** The tag values the plan was built from, to notice a retag. */
  tagsKey: string;
  /** The service layout (full names) it was built against; a new apply makes a new one. */
  layout: Layout;
  service: string;
  label: string;
  joinKeys: string[];
  input: TensorSpec;
  /** Every input name of the model: a key input that is also one stays in the request. */
  modelInputs: Set<string>;
  /** Per input column: the index of its feature in the answer's `results`. */
  columns: number[];
  /** Per input column: `view:feature`, for messages. */
  columnNames: string[];
  /** Per input column: the declared default, if any. */
  defaults: (number | undefined)[];
}

const plans = new WeakMap<FeatureSource, Map<string, FeaturePlan>>();

const STATUS_TEXT: Record<Exclude<FeatureStatus, 'PRESENT'>, string> = {
  NOT_FOUND: 'not in the online store (materialize or push it)',
  OUTSIDE_MAX_AGE: "older than its view's TTL (OUTSIDE_MAX_AGE)",
  NULL_VALUE: 'null',
};

/** True when a model version declares a feature service (one tag lookup). */
export function declaresFeatureService(mv: ModelVersion): boolean {
  return mv.tags[FEATURE_TAGS.service] !== undefined;
}

/**
 * Returns the request with the feature input built from the online store for the entity keys it
 * carries (as inputs named after the join keys, or as request parameters). A request that already
 * carries the feature input is returned unchanged.
 */
export async function enrichWithFeatures(store: FeatureSource | undefined, mv: ModelVersion, request: InferRequest): Promise<InferRequest> {
  const label = `${mv.model}:${mv.version}`;
  if (!store) throw errors.notReady(`model ${label} declares feature service '${mv.tags[FEATURE_TAGS.service]}', but this server has no feature store`);
  const plan = planFor(store, mv, label);
  if (request.inputs.some((t) => t.name === plan.input.name)) return request;

  const entities: Record<string, unknown[]> = {};
  const keyInputs = new Set<string>();
  let rows = -1;
  for (const k of plan.joinKeys) {
    const tensor = request.inputs.find((t) => t.name === k);
    let values: unknown[];
    if (tensor) {
      values = entityValues(tensor, k);
      if (!plan.modelInputs.has(k)) keyInputs.add(k);
    } else if (request.parameters?.[k] !== undefined) {
      const p = request.parameters[k];
      if (typeof p !== 'string' && typeof p !== 'number') throw errors.badRequest(`parameter '${k}' must be a string or a number`, `parameters.${k}`);
      values = [p];
    } else {
      throw errors.badRequest(
        `model ${label} reads feature service '${plan.service}': the request needs entity key '${k}', as an input or a parameter (keys: ${plan.joinKeys.join(', ')})`,
        'inputs',
      );
    }
    if (rows >= 0 && values.length !== rows) throw errors.badRequest(`entity key '${k}' has ${values.length} values but the other keys have ${rows}`, k);
    rows = values.length;
    entities[k] = values;
  }

  if (rows < 0) throw errors.badRequest(`feature service '${plan.service}' has no join keys to look entities up by`, FEATURE_TAGS.service);
  const answer = await store.getOnlineFeatures({ service: plan.service, entities, fullFeatureNames: true });
  const k = plan.columns.length;
  const dt = plan.input.datatype;
  const range = DATATYPE_INFO[dt].range;
  const data = allocateTensorData(dt, rows * k);
  for (let c = 0; c < k; c++) {
    const result = answer.results[plan.columns[c]!]!;
    for (let r = 0; r < rows; r++) {
      const status = result.statuses[r]!;
      let v: unknown = result.values[r];
      if (status !== 'PRESENT') {
        v = plan.defaults[c];
        if (v === undefined) {
          const who = plan.joinKeys.map((j) => `${j}=${String(entities[j]![r])}`).join(', ');
          throw errors.badRequest(`feature '${plan.columnNames[c]}' of entity ${who} is ${STATUS_TEXT[status]}`, plan.joinKeys[0]);
        }
      }
      const n = toNumber(v);
      if (n === undefined) throw errors.badRequest(`feature '${plan.columnNames[c]}' has value ${JSON.stringify(v)}, which is not a number`, plan.joinKeys[0]);
      if (range && (n < Number(range.min) || n > Number(range.max))) {
        throw errors.badRequest(`feature '${plan.columnNames[c]}' has value ${n}, outside the ${dt} range of input '${plan.input.name}'`, plan.joinKeys[0]);
      }
      const i = r * k + c;
      if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(Math.trunc(n));
      else if (dt === 'FP16') (data as Uint16Array)[i] = float32ToFloat16Bits(n);
      else (data as Float32Array)[i] = n;
    }
  }
  const built: Tensor = { name: plan.input.name, datatype: dt, shape: [rows, k], data };
  return { ...request, inputs: [...request.inputs.filter((t) => !keyInputs.has(t.name)), built] };
}

/** The values of an entity-key input: one per row, shape [n] or [n, 1]. */
function entityValues(t: Tensor, key: string): unknown[] {
  if (t.shape.length > 2 || (t.shape.length === 2 && t.shape[1] !== 1)) {
    throw errors.shape(`entity key input '${key}' must have shape [n] or [n, 1], got [${t.shape.join(', ')}]`, key);
  }
  const out: unknown[] = [];
  for (const v of t.data) {
    out.push(typeof v === 'bigint' ? (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : String(v)) : v);
  }
  if (out.length === 0) throw errors.badRequest(`entity key input '${key}' has no values`, key);
  return out;
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function planFor(store: FeatureSource, mv: ModelVersion, label: string): FeaturePlan {
  const tags = mv.tags;
  const service = tags[FEATURE_TAGS.service]!;
  let layout: Layout;
  try {
    layout = store.layout({ service, fullFeatureNames: true });
  } catch {
    throw errors.badRequest(`model ${label} declares feature service '${service}' (tag ${FEATURE_TAGS.service}), which is not applied in the feature store`, FEATURE_TAGS.service);
  }
  const tagsKey = [service, tags[FEATURE_TAGS.columns], tags[FEATURE_TAGS.entityKeys], tags[FEATURE_TAGS.input], tags[FEATURE_TAGS.defaults]].join('\u0000');
  let perStore = plans.get(store);
  if (!perStore) {
    perStore = new Map();
    plans.set(store, perStore);
  }
  const hit = perStore.get(label);
  if (hit && hit.layout === layout && hit.tagsKey === tagsKey) return hit;
  const plan = buildPlan(layout, mv, label, service, tagsKey);
  if (perStore.size >= 1000) perStore.clear();
  perStore.set(label, plan);
  return plan;
}

function buildPlan(layout: Layout, mv: ModelVersion, label: string, service: string, tagsKey: string): FeaturePlan {
  const tags = mv.tags;
  // full names are `view__feature`, in service order after the join keys
  const refs = layout.order.map(([g, p]) => `${layout.groups[g]!.view.name}:${layout.groups[g]!.picks[p]!.name}`);
  const offset = layout.joinKeys.length;
  const specs = list(tags[FEATURE_TAGS.columns]) ?? refs;
  const columns = specs.map((spec) => {
    const matches = refs.flatMap((ref, i) => (ref === spec || ref.slice(ref.indexOf(':') + 1) === spec ? [i] : []));
    if (matches.length === 0) {
      throw errors.badRequest(`model ${label}: ${FEATURE_TAGS.columns} names '${spec}', which is not a feature of service '${service}' (features: ${refs.join(', ')})`, FEATURE_TAGS.columns);
    }
    if (matches.length > 1) {
      throw errors.badRequest(`model ${label}: ${FEATURE_TAGS.columns} names '${spec}', which several views of service '${service}' have; write it as view:feature`, FEATURE_TAGS.columns);
    }
    return matches[0]!;
  });
  const columnNames = columns.map((i) => refs[i]!);

  const declaredKeys = list(tags[FEATURE_TAGS.entityKeys]);
  if (declaredKeys && [...declaredKeys].sort().join(',') !== [...layout.joinKeys].sort().join(',')) {
    throw errors.badRequest(`model ${label}: ${FEATURE_TAGS.entityKeys} is ${declaredKeys.join(',')}, but service '${service}' is keyed by ${layout.joinKeys.join(',')}`, FEATURE_TAGS.entityKeys);
  }

  const inputs = mv.signature.inputs;
  const inputName = tags[FEATURE_TAGS.input];
  let input: TensorSpec | undefined;
  if (inputName !== undefined) {
    input = inputs.find((s) => s.name === inputName);
    if (!input) throw errors.badRequest(`model ${label}: ${FEATURE_TAGS.input} '${inputName}' is not one of its inputs (${inputs.map((s) => s.name).join(', ')})`, FEATURE_TAGS.input);
  } else {
    if (inputs.length !== 1) throw errors.badRequest(`model ${label} has ${inputs.length} inputs; tag ${FEATURE_TAGS.input} must name the one the features fill`, FEATURE_TAGS.input);
    input = inputs[0]!;
  }
  const width = input.shape[1];
  if (input.shape.length !== 2 || (width !== -1 && width !== columns.length)) {
    throw errors.badRequest(
      `model ${label}: input '${input.name}' has shape [${input.shape.join(', ')}], but the feature mapping fills [-1, ${columns.length}] (${columnNames.join(', ')})`,
      FEATURE_TAGS.columns,
    );
  }
  if (DATATYPE_INFO[input.datatype].kind === 'bytes') throw errors.badRequest(`model ${label}: input '${input.name}' is BYTES; features fill numeric inputs only`, FEATURE_TAGS.input);

  const defaults: (number | undefined)[] = new Array(columns.length).fill(undefined);
  for (const entry of list(tags[FEATURE_TAGS.defaults]) ?? []) {
    const at = entry.lastIndexOf(':');
    const name = entry.slice(0, at);
    const value = Number(entry.slice(at + 1));
    if (at <= 0 || entry.slice(at + 1).trim() === '' || !Number.isFinite(value)) {
      throw errors.badRequest(`model ${label}: ${FEATURE_TAGS.defaults} entry '${entry}' must be feature:number`, FEATURE_TAGS.defaults);
    }
    const cols = columns.flatMap((ci, c) => (refs[ci] === name || refs[ci]!.slice(refs[ci]!.indexOf(':') + 1) === name ? [c] : []));
    if (cols.length === 0) throw errors.badRequest(`model ${label}: ${FEATURE_TAGS.defaults} names '${name}', which is not one of its feature columns (${columnNames.join(', ')})`, FEATURE_TAGS.defaults);
    for (const c of cols) defaults[c] = value;
  }

  return { tagsKey, layout, service, label, joinKeys: layout.joinKeys, input, modelInputs: new Set(inputs.map((s) => s.name)), columns: columns.map((i) => i + offset), columnNames, defaults };
}

/** A comma-separated tag value as trimmed, non-empty items; undefined when the tag is absent. */
function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}
