import { createHash, type Hash } from 'node:crypto';
import type { Signature, Tensor, TensorData } from '../protocol/types.js';
import type { LoadedModel } from './types.js';

/** How a CachingModel bounds and reports its cache. */
export interface CacheOptions {
  /** Most bytes held (keys + output tensors); a single result larger than this is never cached. */
  maxBytes: number;
  /** Identifies the model version; part of every key, so no result crosses versions. */
  versionKey: string;
  /** Called once per request answered without running the model (from the cache or a shared run). */
  onHit(): void;
  /** Called once per request that starts a model run. */
  onMiss(): void;
}

interface Entry {
  outputs: Tensor[];
  bytes: number;
}

/** Bytes a tensor's elements occupy (strings: their UTF-8 length plus a 4-byte length each). */
function dataBytes(data: TensorData): number {
  if (!Array.isArray(data)) return data.byteLength;
  let n = 0;
  for (const s of data) n += 4 + Buffer.byteLength(s);
  return n;
}

const u32 = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** Feeds a string as length + UTF-8 bytes, so adjacent strings can never run into each other. */
function updateString(h: Hash, s: string): void {
  const b = Buffer.from(s, 'utf8');
  h.update(u32(b.length));
  h.update(b);
}

/**
 * The cache key: SHA-256 over the version, the requested output set and every input's name,
 * datatype, shape and bytes, each length-prefixed so that no two different requests share a key
 * (['ab','c'] and ['a','bc'] differ). Inputs and output names are sorted: the result does not
 * depend on their order (outputs come back in signature order whatever the request's order).
 */
export function cacheKey(versionKey: string, inputs: Tensor[], outputs?: string[]): string {
  const h = createHash('sha256');
  updateString(h, versionKey);
  if (outputs === undefined) h.update(u32(0xffffffff));
  else {
    const names = [...new Set(outputs)].sort();
    h.update(u32(names.length));
    for (const n of names) updateString(h, n);
  }
  const sorted = [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  h.update(u32(sorted.length));
  for (const t of sorted) {
    updateString(h, t.name);
    updateString(h, t.datatype);
    h.update(u32(t.shape.length));
    for (const d of t.shape) h.update(u32(d));
    if (Array.isArray(t.data)) {
      h.update(u32(t.data.length));
      for (const s of t.data) updateString(h, s);
    } else {
      h.update(u32(t.data.byteLength));
      h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  }
  return h.digest('base64');
}

/** A caller's own copy of cached outputs: typed arrays and shapes copied, strings are immutable. */
function copyOf(outputs: Tensor[]): Tensor[] {
  return outputs.map((t) => {
    const copy: Tensor = { name: t.name, datatype: t.datatype, shape: [...t.shape], data: t.data.slice() as TensorData };
    if (t.parameters) copy.parameters = { ...t.parameters };
    return copy;
  });
}

/**
 * Wraps a model with an LRU prediction cache bounded in bytes. Copies on the way in and on the way
 * out: the cache stores its own compact copy (a batcher's outputs are views into one joined buffer,
 * which a stored view would keep alive) and every hit or sharer of a run gets a fresh copy, so no
 * caller mutating its result can change what later callers see. The caller that ran the model keeps
 * the original. Identical requests arriving while a run is in flight share that run. Failures are
 * not cached.
 */
export class CachingModel implements LoadedModel {
  readonly signature: Signature;
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Tensor[]>>();
  private total = 0;

  constructor(
    private readonly inner: LoadedModel,
    private readonly opts: CacheOptions,
  ) {
    this.signature = inner.signature;
  }

  /** The wrapped model's concurrency, so that a batcher wrapped around the cache sizes its runs the same. */
  get concurrency(): number | undefined {
    return this.inner.concurrency;
  }

  /** Bytes held now (keys + outputs). */
  get bytes(): number {
    return this.total;
  }

  /** Results held now. */
  get size(): number {
    return this.entries.size;
  }

  async run(inputs: Tensor[], outputs?: string[]): Promise<Tensor[]> {
    const key = cacheKey(this.opts.versionKey, inputs, outputs);
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      this.opts.onHit();
      return copyOf(hit.outputs);
    }
    const shared = this.inflight.get(key);
    if (shared) {
      this.opts.onHit();
      return copyOf(await shared);
    }
    this.opts.onMiss();
    const pending = this.inner.run(inputs, outputs);
    this.inflight.set(key, pending);
    try {
      const result = await pending;
      this.store(key, result);
      // Sharers' continuations on `pending` run before this caller's, so they copy an untouched result.
      return result;
    } finally {
      this.inflight.delete(key);
    }
  }

  private store(key: string, outputs: Tensor[]): void {
    const bytes = key.length + outputs.reduce((n, t) => n + dataBytes(t.data), 0);
    if (bytes > this.opts.maxBytes) return;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.total -= old.bytes;
    }
    this.entries.set(key, { outputs: copyOf(outputs), bytes });
    this.total += bytes;
    for (const [k, e] of this.entries) {
      if (this.total <= this.opts.maxBytes) break;
      this.entries.delete(k);
      this.total -= e.bytes;
    }
  }

  async dispose(): Promise<void> {
    this.entries.clear();
    this.total = 0;
    await this.inner.dispose();
  }
}
