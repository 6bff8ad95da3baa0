import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errors } from '../../errors.js';
import { validateSha256 } from '../validate.js';
import type { ArtifactStore } from './store.js';

/**
 * ArtifactStore on the local filesystem. Blobs live at `<root>/sha256/<first two hex>/<hex>`;
 * each is written to a temp file, fsynced, renamed into place and its directory fsynced, so a
 * crash leaves either the whole blob or none of it (and at worst a stray `.tmp-` file).
 */
export class LocalArtifactStore implements ArtifactStore {
  /** Where incoming files are staged while their hash is not yet known (same filesystem as blobs). */
  private readonly staging: string;

  /** Uses (and creates on first write) the directory `root`, e.g. `$BERTH_HOME/artifacts`. */
  constructor(readonly root: string) {
    this.staging = join(root, 'tmp');
  }

  /** The path a blob lives at, whether or not it exists. */
  pathFor(sha256: string): string {
    validateSha256(sha256);
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256);
  }

  async put(bytes: Uint8Array): Promise<{ sha256: string; sizeBytes: number }> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const sizeBytes = bytes.byteLength;
    if (await this.intact(sha256)) return { sha256, sizeBytes };
    const dir = join(this.root, 'sha256', sha256.slice(0, 2));
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, tempName());
    try {
      const fh = await open(tmp, 'wx');
      try {
        await fh.writeFile(bytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.commit(tmp, sha256);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return { sha256, sizeBytes };
  }

  async putFile(path: string): Promise<{ sha256: string; sizeBytes: number }> {
    await mkdir(this.staging, { recursive: true });
    const tmp = join(this.staging, tempName());
    try {
      const hash = createHash('sha256');
      let sizeBytes = 0;
      const fh = await open(tmp, 'wx');
      try {
        for await (const chunk of createReadStream(path)) {
          const buf = chunk as Buffer;
          hash.update(buf);
          sizeBytes += buf.byteLength;
          await fh.write(buf);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      const sha256 = hash.digest('hex');
      if (await this.intact(sha256)) {
        await unlink(tmp);
      } else {
        await mkdir(join(this.root, 'sha256', sha256.slice(0, 2)), { recursive: true });
        await this.commit(tmp, sha256);
      }
      return { sha256, sizeBytes };
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async get(sha256: string): Promise<Uint8Array> {
    const path = this.pathFor(sha256);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw missingOr(e, sha256);
    }
    const found = createHash('sha256').update(bytes).digest('hex');
    if (found !== sha256) throw corrupt(sha256, found);
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      return (await stat(this.pathFor(sha256))).isFile();
    } catch {
      return false;
    }
  }

  async localPath(sha256: string): Promise<string> {
    const path = this.pathFor(sha256);
    const found = await hashFile(path).catch((e: unknown) => {
      throw missingOr(e, sha256);
    });
    if (found !== sha256) throw corrupt(sha256, found);
    return path;
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathFor(sha256), { force: true });
  }

  /** True if the blob exists with the right content (a damaged copy gets overwritten by put). */
  private async intact(sha256: string): Promise<boolean> {
    try {
      return (await hashFile(this.pathFor(sha256))) === sha256;
    } catch {
      return false;
    }
  }

  /** Renames a synced temp file into place and syncs the directory so the rename itself survives a crash. */
  private async commit(tmp: string, sha256: string): Promise<void> {
    const dest = this.pathFor(sha256);
    await rename(tmp, dest);
    const dir = await open(dirname(dest), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }
}

/** Streams a file through SHA-256. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function tempName(): string {
  return `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
}

function corrupt(sha256: string, found: string): Error {
  return errors.corrupt(
    `artifact ${sha256} is corrupt: expected sha256 ${sha256}, found ${found}; re-register the model`,
  );
}

function missingOr(e: unknown, sha256: string): unknown {
  return (e as NodeJS.ErrnoException).code === 'ENOENT' ? errors.notFound(`artifact ${sha256} not found`) : e;
}
