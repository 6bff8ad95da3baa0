import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { ErrorKind } from '../../src/errors.js';
import type { NewVersion, RegistryStore } from '../../src/registry/index.js';

/** Shared pieces of the RegistryStore contract suite. */

export const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
export const SIGNATURE = {
  inputs: [{ name: 'features', datatype: 'FP32' as const, shape: [-1, 4] }],
  outputs: [{ name: 'probabilities', datatype: 'FP32' as const, shape: [-1, 3] }],
};

let counter = 0;
/** A distinct SHA-256 per call, so versions are told apart by content. */
export function sha(label = `blob-${counter++}`): string {
  return createHash('sha256').update(label).digest('hex');
}

export function newVersion(model: string, extra: Partial<NewVersion> = {}): NewVersion {
  return { model, sha256: sha(), sizeBytes: 1234, signature: SIGNATURE, ...extra };
}

/** Resolves to the BerthError the promise rejects with, checking its kind. */
export async function rejection(p: Promise<unknown>, kind: ErrorKind): Promise<{ message: string; field?: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).toMatchObject({ name: 'BerthError', kind });
    return e as { message: string; field?: string };
  }
  throw new Error(`expected a ${kind} rejection, but the call succeeded`);
}

/** Creates versions 1..n of `model`. */
export async function createVersions(store: RegistryStore, model: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await store.createVersion(newVersion(model));
}
