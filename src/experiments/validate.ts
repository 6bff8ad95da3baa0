import { errors } from '../errors.js';
import { type MetricKind, parseSplit } from './analyze.js';
import type { Experiment, ExperimentInput, VariantSpec } from './types.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const HEADER = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** Resolves a model reference (`MODEL:VERSION`, `MODEL@alias`) to a registered version. */
export type VersionResolver = (ref: string) => Promise<{ name: string; version: number }>;

/** Parses `MODEL:VERSION` without a registry (for stores used on their own). */
export const parseVersionRef: VersionResolver = async (ref) => {
  const m = /^(.+):([0-9]+)$/.exec(ref);
  if (!m?.[1] || !m[2]) throw errors.badRequest(`variant model '${ref}' must be MODEL:VERSION`, 'variant');
  return { name: m[1], version: Number(m[2]) };
};

function checkLevel(x: unknown, field: string, lo: number, hi: number, what: string): number {
  if (typeof x !== 'number' || !(x > lo && x < hi)) throw errors.badRequest(`${field} must be ${what}, got ${String(x)}`, field);
  return x;
}

/** Validates a create request and resolves its variants; every error names its field. */
export async function validateExperiment(input: ExperimentInput, resolve: VersionResolver, now: string): Promise<Experiment> {
  if (typeof input !== 'object' || input === null) throw errors.badRequest('the experiment must be a JSON object', 'body');
  if (typeof input.name !== 'string' || !NAME.test(input.name)) {
    throw errors.badRequest(`name must be 1-128 letters, digits, '.', '_' or '-' (starting with a letter or digit), got '${String(input.name)}'`, 'name');
  }
  if (typeof input.model !== 'string' || input.model === '') throw errors.badRequest('model is required', 'model');
  if (input.metric !== 'binary' && input.metric !== 'continuous') {
    throw errors.badRequest(`metric must be binary or continuous, got '${String(input.metric)}'`, 'metric');
  }
  const unit = typeof input.unit === 'string' ? /^header:(.+)$/i.exec(input.unit.trim()) : null;
  if (!unit?.[1] || !HEADER.test(unit[1])) {
    throw errors.badRequest(`unit must be header:NAME (e.g. header:x-user-id), got '${String(input.unit)}'`, 'unit');
  }
  if (!Array.isArray(input.variants) || input.variants.length < 2) {
    throw errors.badRequest('an experiment needs at least 2 variants (e.g. control=MODEL:1 and treatment=MODEL:2)', 'variant');
  }
  const parsed = input.variants.map((v, i) => {
    let name: string;
    let ref: string;
    if (typeof v === 'string') {
      const eq = v.indexOf('=');
      if (eq <= 0) throw errors.badRequest(`variant '${v}' must be NAME=MODEL:VERSION`, 'variant');
      name = v.slice(0, eq).trim();
      ref = v.slice(eq + 1).trim();
    } else if (typeof v === 'object' && v !== null && typeof v.name === 'string' && typeof v.ref === 'string') {
      ({ name, ref } = v);
    } else {
      throw errors.badRequest(`variants[${i}] must be 'NAME=MODEL:VERSION' or {"name", "ref"}`, 'variant');
    }
    if (!NAME.test(name)) throw errors.badRequest(`variant name '${name}' must be letters, digits, '.', '_' or '-'`, 'variant');
    return { name, ref };
  });
  const names = parsed.map((p) => p.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw errors.badRequest(`variant '${dup}' is given twice`, 'variant');
  const weights =
    input.split === undefined
      ? names.map(() => 1)
      : Array.isArray(input.split)
        ? parseSplit(input.split.map(String).join(','), names)
        : parseSplit(String(input.split), names);
  const alpha = input.alpha === undefined ? 0.05 : checkLevel(input.alpha, 'alpha', 0, 1, 'between 0 and 1');
  const power = input.power === undefined ? 0.8 : checkLevel(input.power, 'power', alpha, 1, `between alpha (${alpha}) and 1`);
  let mde: number | null = null;
  if (input.mde !== undefined && input.mde !== null) {
    const limit = input.metric === 'binary' ? 1 : Number.POSITIVE_INFINITY;
    if (typeof input.mde !== 'number' || !(Number.isFinite(input.mde) && input.mde !== 0 && Math.abs(input.mde) < limit)) {
      throw errors.badRequest(`mde must be a non-zero number${input.metric === 'binary' ? ' between -1 and 1 (absolute)' : ''}, got ${String(input.mde)}`, 'mde');
    }
    mde = input.mde;
  }
  const control = input.control ?? (names.includes('control') ? 'control' : names[0]);
  if (control === undefined || !names.includes(control)) {
    throw errors.badRequest(`control '${String(control)}' is not one of the variants (${names.join(', ')})`, 'control');
  }
  const variants: VariantSpec[] = [];
  for (const [i, p] of parsed.entries()) {
    const mv = await resolve(p.ref);
    variants.push({ name: p.name, model: mv.name, version: mv.version, weight: weights[i] ?? 1 });
  }
  variants.sort((a, b) => (a.name === control ? -1 : b.name === control ? 1 : 0));
  return {
    name: input.name,
    model: input.model,
    variants,
    control,
    unit_header: unit[1].toLowerCase(),
    metric: input.metric as MetricKind,
    alpha,
    power,
    mde,
    status: 'running',
    created_at: now,
    stopped_at: null,
  };
}

/** Parsed outcome items: a unit or a request id each, with a value valid for the metric. */
export function parseOutcomes(body: unknown, metric: MetricKind): { unitId?: string; requestId?: string; value: number }[] {
  const raw = Array.isArray(body) ? body : (body as { outcomes?: unknown } | null)?.outcomes;
  if (!Array.isArray(raw)) {
    throw errors.badRequest('the body must be {"outcomes": [{"unit_id", "value"} | {"request_id", "value"}, ...]} or that array', 'outcomes');
  }
  return raw.map((item: unknown, i) => {
    const at = `outcomes[${i}]`;
    if (typeof item !== 'object' || item === null) throw errors.badRequest(`${at} must be an object`, at);
    const o = item as Record<string, unknown>;
    const id = (v: unknown, f: string): string | undefined => {
      if (v === undefined) return undefined;
      if ((typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isFinite(v))) return String(v);
      throw errors.badRequest(`${at}.${f} must be a non-empty string`, `${at}.${f}`);
    };
    const unitId = id(o['unit_id'], 'unit_id');
    const requestId = id(o['request_id'], 'request_id');
    if ((unitId === undefined) === (requestId === undefined)) {
      throw errors.badRequest(`${at} needs exactly one of unit_id and request_id`, at);
    }
    const given = typeof o['value'] === 'boolean' ? Number(o['value']) : o['value'];
    if (typeof given !== 'number' || !Number.isFinite(given)) {
      throw errors.badRequest(`${at}.value must be a finite number, got ${JSON.stringify(o['value']) ?? 'nothing'}`, `${at}.value`);
    }
    if (metric === 'binary' && given !== 0 && given !== 1) {
      throw errors.badRequest(`${at}.value must be 0 or 1 (or true/false) for a binary metric, got ${given}`, `${at}.value`);
    }
    const value = given === 0 ? 0 : given; // no -0
    return unitId !== undefined ? { unitId, value } : { requestId, value };
  });
}
