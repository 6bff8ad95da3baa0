/**
 * A model version's serving configuration: dynamic batching and the prediction cache. It lives in
 * the version's tags, so it travels with local and remote registration and can be changed later
 * with the tag operations; a Triton-like config file (`berth models register --config`) is turned
 * into those tags.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { errors } from '../errors.js';
import type { ModelVersion } from '../registry/index.js';

/** How a version is served. */
export interface ModelServingConfig {
  /** Most rows in one joined run; 1 turns batching off. */
  maxBatchSize: number;
  /** Longest a request waits for others to join it, in microseconds (0: join only what is waiting). */
  maxQueueDelayUs: number;
  /** Batch sizes sent as soon as the queue reaches them, without waiting out the delay. */
  preferredBatchSizes: number[];
  /** Most requests waiting in the queue; more get 503 with Retry-After. */
  maxQueueSize: number;
  /** Prediction cache size in bytes; 0 turns the cache off. */
  cacheMaxBytes: number;
}

/** The tag each setting is stored under. */
export const SERVING_TAGS = {
  maxBatchSize: 'max_batch_size',
  maxQueueDelayUs: 'max_queue_delay_us',
  preferredBatchSizes: 'preferred_batch_sizes',
  maxQueueSize: 'max_queue_size',
  cacheMaxBytes: 'cache_max_bytes',
} as const satisfies Record<keyof ModelServingConfig, string>;

export const DEFAULT_SERVING_CONFIG: ModelServingConfig = {
  maxBatchSize: 64,
  maxQueueDelayUs: 0,
  preferredBatchSizes: [],
  maxQueueSize: 1024,
  cacheMaxBytes: 0,
};

/** Upper bounds that catch typos (a delay in seconds given as µs is fine; one in ns is not). */
const LIMITS = {
  maxBatchSize: 1_000_000,
  maxQueueDelayUs: 60_000_000,
  maxQueueSize: 10_000_000,
  cacheMaxBytes: Number.MAX_SAFE_INTEGER,
};

function integer(value: unknown, field: string, min: number, max: number): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw errors.badRequest(`${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`, field);
  }
  return n;
}

function sizes(value: unknown, field: string, maxBatchSize: number): number[] {
  const parts = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',').filter((s) => s.trim() !== '') : undefined;
  if (parts === undefined) throw errors.badRequest(`${field} must be a list of batch sizes like 4,8,16, got ${JSON.stringify(value)}`, field);
  const out = parts.map((p) => integer(typeof p === 'string' ? p.trim() : p, field, 1, maxBatchSize));
  return [...new Set(out)].sort((a, b) => a - b);
}

/**
 * Reads the serving config from a tag map, filling in `defaults`; a bad value is a BAD_REQUEST
 * naming its tag. Only the serving tags are looked at; other tags are left alone.
 */
export function servingConfigFromTags(tags: Record<string, string>, defaults: ModelServingConfig = DEFAULT_SERVING_CONFIG): ModelServingConfig {
  const t = SERVING_TAGS;
  const get = (k: string) => tags[k];
  const maxBatchSize = get(t.maxBatchSize) === undefined ? defaults.maxBatchSize : integer(get(t.maxBatchSize), t.maxBatchSize, 1, LIMITS.maxBatchSize);
  const pref = get(t.preferredBatchSizes);
  return {
    maxBatchSize,
    maxQueueDelayUs:
      get(t.maxQueueDelayUs) === undefined ? defaults.maxQueueDelayUs : integer(get(t.maxQueueDelayUs), t.maxQueueDelayUs, 0, LIMITS.maxQueueDelayUs),
    preferredBatchSizes: pref === undefined ? defaults.preferredBatchSizes.filter((n) => n <= maxBatchSize) : sizes(pref, t.preferredBatchSizes, maxBatchSize),
    maxQueueSize: get(t.maxQueueSize) === undefined ? defaults.maxQueueSize : integer(get(t.maxQueueSize), t.maxQueueSize, 1, LIMITS.maxQueueSize),
    cacheMaxBytes: get(t.cacheMaxBytes) === undefined ? defaults.cacheMaxBytes : integer(get(t.cacheMaxBytes), t.cacheMaxBytes, 0, LIMITS.cacheMaxBytes),
  };
}

/** A version's serving config (its tags over `defaults`); BAD_REQUEST naming the tag when one is invalid. */
export function servingConfig(mv: ModelVersion, defaults: ModelServingConfig = DEFAULT_SERVING_CONFIG): ModelServingConfig {
  return servingConfigFromTags(mv.tags, defaults);
}

/** Checks the serving tags in a tag map (at registration), so a bad value is refused before it is stored. */
export function validateServingTags(tags: Record<string, string> | undefined): void {
  if (tags) servingConfigFromTags(tags);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys a config file may hold, by section, with the tag each becomes. */
const FILE_KEYS: Record<string, Record<string, string>> = {
  dynamic_batching: {
    max_batch_size: SERVING_TAGS.maxBatchSize,
    max_queue_delay_us: SERVING_TAGS.maxQueueDelayUs,
    preferred_batch_sizes: SERVING_TAGS.preferredBatchSizes,
    max_queue_size: SERVING_TAGS.maxQueueSize,
  },
  cache: { max_bytes: SERVING_TAGS.cacheMaxBytes },
};

/**
 * Turns a parsed config document (`{dynamic_batching: {max_batch_size, max_queue_delay_us,
 * preferred_batch_sizes, max_queue_size}, cache: {max_bytes}}`) into validated serving tags.
 * Unknown sections or keys are refused by name, so a typo never silently does nothing.
 */
export function servingTagsFromConfig(doc: unknown): Record<string, string> {
  if (!isRecord(doc)) throw errors.badRequest('the model config must be a mapping with dynamic_batching and/or cache', 'config');
  const tags: Record<string, string> = {};
  for (const [section, body] of Object.entries(doc)) {
    const keys = FILE_KEYS[section];
    if (!keys) throw errors.badRequest(`unknown section '${section}' in the model config (expected dynamic_batching, cache)`, section);
    if (body === null || body === undefined) continue;
    if (!isRecord(body)) throw errors.badRequest(`${section} must be a mapping`, section);
    for (const [k, v] of Object.entries(body)) {
      const tag = keys[k];
      if (!tag) throw errors.badRequest(`unknown key '${section}.${k}' in the model config (expected ${Object.keys(keys).join(', ')})`, `${section}.${k}`);
      if (v === null || v === undefined) continue;
      tags[tag] = Array.isArray(v) ? v.join(',') : String(v);
    }
  }
  try {
    validateServingTags(tags);
  } catch (e) {
    // name the field as the file spells it
    const field = (e as { field?: string }).field;
    const entry = Object.entries(FILE_KEYS).flatMap(([s, keys]) => Object.entries(keys).map(([k, t]) => [`${s}.${k}`, t] as const)).find(([, t]) => t === field);
    if (entry) throw errors.badRequest((e as Error).message.replace(field as string, entry[0]), entry[0]);
    throw e;
  }
  return tags;
}

/** Reads a YAML or JSON model config file into serving tags. */
export async function readServingConfigFile(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw errors.badRequest(`cannot read model config '${path}': ${(e as Error).message}`, 'config');
  }
  let doc: unknown;
  try {
    doc = parseYaml(text); // YAML is a superset of JSON
  } catch (e) {
    throw errors.badRequest(`model config '${path}' is not valid YAML or JSON: ${(e as Error).message}`, 'config');
  }
  return servingTagsFromConfig(doc ?? {});
}
