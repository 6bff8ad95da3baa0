import { errors } from '../errors.js';
import type { NewVersion } from './types.js';

/**
 * Input rules shared by every RegistryStore implementation and the Registry service, so that a
 * name accepted by one engine is accepted by all of them.
 */

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ALIAS_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const MAX_KEY_LENGTH = 256;

/** Throws BAD_REQUEST unless `name` is a valid model name. */
export function validateModelName(name: unknown, field = 'name'): asserts name is string {
  if (typeof name !== 'string' || !MODEL_NAME.test(name)) {
    throw errors.badRequest(
      `invalid model name ${JSON.stringify(name)}: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      field,
    );
  }
}

/** Throws BAD_REQUEST unless `alias` is a valid alias name (and does not read as a number). */
export function validateAliasName(alias: unknown, field = 'alias'): asserts alias is string {
  if (typeof alias !== 'string' || !ALIAS_NAME.test(alias)) {
    throw errors.badRequest(
      `invalid alias ${JSON.stringify(alias)}: use 1-64 letters, digits, '_' or '-', starting with a letter`,
      field,
    );
  }
  // The pattern already rules out digits first; these are the words Number() still accepts.
  if (!Number.isNaN(Number(alias)) || alias.toLowerCase() === 'nan') {
    throw errors.badRequest(`invalid alias '${alias}': an alias may not look like a number`, field);
  }
}

/** Throws BAD_REQUEST unless `version` is a positive integer. */
export function validateVersionNumber(version: unknown, field = 'version'): asserts version is number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw errors.badRequest(`invalid version ${JSON.stringify(version)}: must be a positive integer`, field);
  }
}

/** Throws BAD_REQUEST unless `key` is a non-empty string of at most 256 characters. */
export function validateKey(key: unknown, field: string): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw errors.badRequest(
      `invalid key ${JSON.stringify(key)} in ${field}: keys must be 1-${MAX_KEY_LENGTH} characters`,
      field,
    );
  }
}

/** Throws BAD_REQUEST unless `value` is a string (tag values are free text). */
export function validateTagValue(key: string, value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string') {
    throw errors.badRequest(`${field} '${key}' must have a string value`, field);
  }
}

/** Throws BAD_REQUEST unless `value` is a finite number. */
export function validateMetricValue(key: string, value: unknown, field = 'metrics'): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw errors.badRequest(`metric '${key}' must be a finite number, got ${String(value)}`, field);
  }
}

/** Throws BAD_REQUEST unless `key` and `value` make a valid tag. */
export function validateTag(key: unknown, value: unknown, field = 'tags'): void {
  validateKey(key, field);
  validateTagValue(key, value, field);
}

/** Throws BAD_REQUEST unless `key` and `value` make a valid metric. */
export function validateMetric(key: unknown, value: unknown, field = 'metrics'): void {
  validateKey(key, field);
  validateMetricValue(key, value, field);
}

/** Validates every entry of a tag map. */
export function validateTags(tags: Record<string, string> | undefined, field = 'tags'): void {
  for (const [key, value] of Object.entries(tags ?? {})) validateTag(key, value, field);
}

/** Validates every entry of a metric map. */
export function validateMetrics(metrics: Record<string, number> | undefined, field = 'metrics'): void {
  for (const [key, value] of Object.entries(metrics ?? {})) validateMetric(key, value, field);
}

/** Throws BAD_REQUEST unless the alias may be pointed at the version. */
export function validateAliasTarget(alias: unknown, version: unknown): void {
  validateAliasName(alias);
  validateVersionNumber(version);
}

/** Validates a SHA-256 digest in lowercase hex. */
export function validateSha256(sha256: unknown, field = 'sha256'): asserts sha256 is string {
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw errors.badRequest(`invalid sha256 ${JSON.stringify(sha256)}: expected 64 lowercase hex digits`, field);
  }
}

/** Rejects a NewVersion that no engine should store; every RegistryStore calls it before writing. */
export function validateNewVersion(input: NewVersion): void {
  validateModelName(input.model, 'model');
  validateSha256(input.sha256);
  if (!Number.isSafeInteger(input.sizeBytes) || input.sizeBytes < 0) {
    throw errors.badRequest(`invalid sizeBytes ${String(input.sizeBytes)}: must be a non-negative integer`, 'sizeBytes');
  }
  const sig = input.signature as Partial<NewVersion['signature']> | undefined;
  if (sig === undefined || !Array.isArray(sig.inputs) || !Array.isArray(sig.outputs)) {
    throw errors.badRequest('a version needs a signature with inputs and outputs', 'signature');
  }
  validateTags(input.tags);
  validateMetrics(input.metrics);
  validateTags(input.lineage, 'lineage');
  if (input.reference != null) validateSha256(input.reference.sha256, 'reference.sha256');
}
