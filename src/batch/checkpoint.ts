/** The small durable progress file beside a run's output, rewritten atomically at each checkpoint. */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { errors } from '../errors.js';

/** What a resumed run must match and where it picks up. */
export interface Checkpoint {
  format: 1;
  model: string;
  modelVersion: number;
  sha256: string;
  input: string;
  inputSize: number;
  inputMtimeMs: number;
  columns: string[];
  /** Input rows consumed (good and bad) up to the last completed chunk. */
  rowsRead: number;
  rowsWritten: number;
  errors: number;
  /** Length of the error file at the checkpoint; a resumed run cuts it back to this. */
  errorBytes: number;
  /** Result part files completed; a resumed run deletes any later ones. */
  parts: number;
  startedAt: string;
}

/** Paths a run keeps beside its output while it is in progress. */
export function sidecarPaths(output: string): { checkpoint: string; parts: string; errors: string } {
  return {
    checkpoint: `${output}.berth-batch.json`,
    parts: `${output}.berth-batch.parts`,
    errors: `${output}.errors.jsonl`,
  };
}

/** Writes the checkpoint durably: to a temp name, fsynced, then renamed over the old one. */
export async function writeCheckpoint(path: string, cp: Checkpoint): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(JSON.stringify(cp));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

/** Reads a checkpoint, or undefined when there is none. */
export async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const cp = JSON.parse(text) as Checkpoint;
    if (cp.format !== 1 || typeof cp.rowsRead !== 'number' || typeof cp.parts !== 'number') throw new Error('unknown layout');
    return cp;
  } catch (e) {
    throw errors.badRequest(`progress file '${path}' is unreadable (${(e as Error).message}); run without --resume to start over`, 'resume');
  }
}

/** Removes a run's progress file and result parts. */
export async function removeSidecars(output: string): Promise<void> {
  const p = sidecarPaths(output);
  await Promise.all([p.checkpoint, `${p.checkpoint}.tmp`, p.parts].map((f) => rm(f, { force: true, recursive: true })));
}
