import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalArtifactStore } from '../../src/registry/index.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Every file under `dir`, relative to it. */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  walk(dir);
  return out.sort();
}

describe('LocalArtifactStore', () => {
  let dir: string;
  let root: string;
  let store: LocalArtifactStore;
  const bytes = new TextEncoder().encode('an onnx model, honestly');

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-artifacts-'));
    root = join(dir, 'artifacts');
    store = new LocalArtifactStore(root);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores bytes under sha256/<first two hex>/<hex> and reads them back', async () => {
    const put = await store.put(bytes);
    expect(put).toEqual({ sha256: sha256(bytes), sizeBytes: bytes.byteLength });
    expect(files(root)).toEqual([`sha256/${put.sha256.slice(0, 2)}/${put.sha256}`]);
    expect(Buffer.from(await store.get(put.sha256))).toEqual(Buffer.from(bytes));
    expect(await store.has(put.sha256)).toBe(true);
  });

  it('is idempotent: a second put of the same bytes changes nothing', async () => {
    const first = await store.put(bytes);
    const mtime = statSync(store.pathFor(first.sha256)).mtimeMs;
    const second = await store.put(bytes);
    expect(second).toEqual(first);
    expect(statSync(store.pathFor(first.sha256)).mtimeMs).toBe(mtime);
    expect(files(root)).toHaveLength(1);
  });

  it('streams a file in with putFile, matching put of the same bytes', async () => {
    const big = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31) % 251);
    const src = join(dir, 'model.onnx');
    writeFileSync(src, big);
    const put = await store.putFile(src);
    expect(put).toEqual({ sha256: sha256(big), sizeBytes: big.byteLength });
    expect(Buffer.from(await store.get(put.sha256)).equals(Buffer.from(big))).toBe(true);
    expect(await store.putFile(src)).toEqual(put);
    expect(await store.put(big)).toEqual(put);
    expect(files(root)).toEqual([`sha256/${put.sha256.slice(0, 2)}/${put.sha256}`]);
  });

  it('refuses a blob whose bytes changed on disk with CORRUPT_ARTIFACT, from get and from localPath', async () => {
    const { sha256: sha } = await store.put(bytes);
    const path = store.pathFor(sha);
    const damaged = readFileSync(path);
    damaged[3] = damaged[3]! ^ 0x01;
    writeFileSync(path, damaged);
    const found = sha256(damaged);
    const message = `artifact ${sha} is corrupt: expected sha256 ${sha}, found ${found}; re-register the model`;
    await expect(store.get(sha)).rejects.toMatchObject({ kind: 'CORRUPT_ARTIFACT', code: 'BERTH_E_CORRUPT_ARTIFACT', message });
    await expect(store.localPath(sha)).rejects.toMatchObject({ kind: 'CORRUPT_ARTIFACT', message });
  });

  it('repairs a corrupt blob when the same bytes are put again', async () => {
    const { sha256: sha } = await store.put(bytes);
    writeFileSync(store.pathFor(sha), 'garbage');
    await store.put(bytes);
    expect(Buffer.from(await store.get(sha))).toEqual(Buffer.from(bytes));
  });

  it('hands out a verified local path', async () => {
    const { sha256: sha } = await store.put(bytes);
    const path = await store.localPath(sha);
    expect(path).toBe(store.pathFor(sha));
    expect(readFileSync(path)).toEqual(Buffer.from(bytes));
  });

  it('reports a missing blob as NOT_FOUND and a malformed digest as BAD_REQUEST', async () => {
    const missing = sha256(new TextEncoder().encode('never stored'));
    await expect(store.get(missing)).rejects.toMatchObject({ kind: 'NOT_FOUND', message: `artifact ${missing} not found` });
    await expect(store.localPath(missing)).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    expect(await store.has(missing)).toBe(false);
    await expect(store.get('../../etc/passwd')).rejects.toMatchObject({ kind: 'BAD_REQUEST' });
  });

  it('deletes blobs, and deleting a missing one is not an error', async () => {
    const { sha256: sha } = await store.put(bytes);
    await store.delete(sha);
    expect(await store.has(sha)).toBe(false);
    await expect(store.get(sha)).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    await store.delete(sha);
  });

  it('leaves no temp files behind, after success or after a failed putFile', async () => {
    await store.put(bytes);
    await store.put(bytes);
    const src = join(dir, 'in.bin');
    writeFileSync(src, 'streamed');
    await store.putFile(src);
    await store.putFile(src);
    await expect(store.putFile(join(dir, 'does-not-exist'))).rejects.toThrow();
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.put(new TextEncoder().encode(`blob ${i % 3}`))));
    expect(files(root).filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(files(root)).toHaveLength(5);
  });
});
