import { parseDuration } from '../duration.js';
import { errors } from '../errors.js';
import { type Deployment, type DeploymentInput, STRATEGIES, type Strategy } from './types.js';

/** Defaults a user would guess: the example steps, 30 s per step, 20 calls before judging. */
export const DEFAULTS = {
  steps: [5, 25, 50, 100],
  stepIntervalMs: 30_000,
  errorRate: 0.01,
  minRequests: 20,
  graceMs: 5 * 60_000,
  warmupRequests: 5,
} as const;

/** Parses "300ms", "30s", "2m", "1h" or a number of seconds into milliseconds; `field` names it in errors. */
export function parseDurationField(value: string | number, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value <= 0) throw errors.badRequest(`${field} must be a positive duration, got ${value}`, field);
    return Math.round(value * 1000);
  }
  const ms = /^\s*[0-9]+(\.[0-9]+)?\s*$/.test(value) ? Math.round(Number(value) * 1000) : parseDuration(value);
  if (ms === undefined) throw errors.badRequest(`${field} must be a duration like 300ms, 30s or 2m, got '${value}'`, field);
  if (ms <= 0) throw errors.badRequest(`${field} must be positive, got '${value}'`, field);
  return ms;
}

/** Parses canary steps: increasing percentages in (0, 100], ending at 100. */
export function parseSteps(value: number[] | string | undefined): number[] {
  if (value === undefined) return [...DEFAULTS.steps];
  const raw = typeof value === 'string' ? value.split(',').map((s) => s.trim()) : value;
  const steps = raw.map((s) => (typeof s === 'number' ? s : /^[0-9]+(\.[0-9]+)?$/.test(s) ? Number(s) : Number.NaN));
  if (steps.length === 0 || steps.some((s) => !(s > 0 && s <= 100))) {
    throw errors.badRequest(`steps must be percentages between 0 and 100, e.g. 5,25,50,100; got '${String(value)}'`, 'steps');
  }
  for (let i = 1; i < steps.length; i++) {
    if ((steps[i] as number) <= (steps[i - 1] as number)) throw errors.badRequest('steps must increase', 'steps');
  }
  if (steps[steps.length - 1] !== 100) throw errors.badRequest('the last step must be 100 (the candidate takes all traffic before it is promoted)', 'steps');
  return steps;
}

function optionalNumber(v: unknown, field: string, ok: (x: number) => boolean, what: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const x = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof x !== 'number' || !Number.isFinite(x) || !ok(x)) throw errors.badRequest(`${field} must be ${what}, got ${JSON.stringify(v)}`, field);
  return x;
}

/** The validated settings of a new deployment (model and versions are checked against the registry by the service). */
export function validateInput(
  input: DeploymentInput,
): Pick<
  Deployment,
  'model' | 'strategy' | 'steps' | 'step_interval_ms' | 'slo' | 'grace_ms' | 'duration_ms' | 'warmup_requests' | 'webhooks'
> & { version: number } {
  if (typeof input !== 'object' || input === null) throw errors.badRequest('request body must be a JSON object', 'body');
  if (typeof input.model !== 'string' || input.model === '') throw errors.badRequest('model is required', 'model');
  const version = typeof input.version === 'string' && /^[1-9][0-9]*$/.test(input.version) ? Number(input.version) : input.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw errors.badRequest(`version must be a positive integer, got ${JSON.stringify(input.version)}`, 'version');
  }
  if (!(STRATEGIES as readonly string[]).includes(input.strategy)) {
    throw errors.badRequest(`strategy must be one of ${STRATEGIES.join(', ')}; got ${JSON.stringify(input.strategy)}`, 'strategy');
  }
  const strategy = input.strategy as Strategy;
  const webhooks = input.webhooks ?? [];
  if (!Array.isArray(webhooks) || webhooks.some((u) => typeof u !== 'string' || !/^https?:\/\/./.test(u))) {
    throw errors.badRequest('webhooks must be a list of http(s) URLs', 'webhooks');
  }
  const p95 = optionalNumber(input.slo_p95_ms, 'slo_p95_ms', (x) => x > 0, 'a positive number of ms');
  const errorRate = optionalNumber(input.slo_error_rate, 'slo_error_rate', (x) => x >= 0 && x <= 1, 'between 0 and 1');
  const minRequests = optionalNumber(input.min_requests, 'min_requests', (x) => Number.isInteger(x) && x >= 1, 'a positive integer');
  const warmup = optionalNumber(input.warmup_requests, 'warmup_requests', (x) => Number.isInteger(x) && x >= 1 && x <= 1000, 'an integer in 1..1000');
  return {
    model: input.model,
    version,
    strategy,
    steps: strategy === 'canary' ? parseSteps(input.steps) : strategy === 'blue-green' ? [100] : [],
    step_interval_ms: input.step_interval === undefined ? DEFAULTS.stepIntervalMs : parseDurationField(input.step_interval, 'step_interval'),
    slo: { p95_ms: p95 ?? null, error_rate: errorRate ?? DEFAULTS.errorRate, min_requests: minRequests ?? DEFAULTS.minRequests },
    grace_ms: input.grace === undefined ? DEFAULTS.graceMs : parseDurationField(input.grace, 'grace'),
    duration_ms: input.duration === undefined || strategy !== 'shadow' ? null : parseDurationField(input.duration, 'duration'),
    warmup_requests: warmup ?? DEFAULTS.warmupRequests,
    webhooks,
  };
}
