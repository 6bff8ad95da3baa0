import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openRegistryStore, SqliteRegistryStore } from '../../src/registry/index.js';
import { registryStoreContract } from './store-contract.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-sqlite-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

registryStoreContract('sqlite (file)', async () => {
  const dir = tempDir();
  const store = new SqliteRegistryStore(join(dir, 'nested', 'registry.db'));
  return { store, cleanup: () => store.close() };
});

registryStoreContract('sqlite (:memory:)', async () => {
  const store = new SqliteRegistryStore(':memory:');
  return { store, cleanup: () => store.close() };
});

const WRITER = fileURLToPath(new URL('./fixtures/sqlite-writer.ts', import.meta.url));
const SIGNATURE = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 2] }], outputs: [] };
const SHA = 'a'.repeat(64);

/** Starts the writer child; `lines` collects the version numbers it reports as committed. */
function startWriter(path: string, model: string, count: number): { child: ChildProcess; lines: number[] } {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, model, String(count)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: number[] = [];
  let buffered = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    for (const p of parts) lines.push(Number(p));
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal === null) process.stderr.write(`writer failed (${code}): ${stderr}\n`);
  });
  return { child, lines };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

describe('SqliteRegistryStore on disk', () => {
  it('keeps every committed version when the writing process is killed with SIGKILL', async () => {
    const path = join(tempDir(), 'registry.db');
    const { child, lines } = startWriter(path, 'weather', 1_000_000);
    const deadline = Date.now() + 20_000;
    while (lines.length < 40 && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(lines.length).toBeGreaterThanOrEqual(40);
    child.kill('SIGKILL');
    expect((await exited(child)).signal).toBe('SIGKILL');

    const check = new Database(path, { readonly: true });
    expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(check.pragma('journal_mode', { simple: true })).toBe('wal');
    check.close();

    const store = new SqliteRegistryStore(path);
    const numbers = (await store.listVersions('weather')).map((v) => v.version);
    // Every version the child reported is there; at most a few more committed before their line was read.
    for (const n of lines) expect(await store.getVersion('weather', n)).toBeDefined();
    expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => i + 1));
    expect(numbers.length).toBeGreaterThanOrEqual(lines.length);
    const next = await store.createVersion({ model: 'weather', sha256: SHA, sizeBytes: 1, signature: SIGNATURE });
    expect(next.version).toBe(numbers.length + 1);
    await store.close();
  });

  it('gives versions created by four processes at once distinct consecutive numbers', async () => {
    const path = join(tempDir(), 'registry.db');
    new SqliteRegistryStore(path).close(); // create the schema before the race
    const writers = Array.from({ length: 4 }, () => startWriter(path, 'weather', 25));
    const results = await Promise.all(writers.map((w) => exited(w.child)));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    const reported = writers.flatMap((w) => w.lines).sort((a, b) => a - b);
    expect(reported).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const store = new SqliteRegistryStore(path);
    const byPid = new Set((await store.listVersions('weather')).map((v) => v.tags['pid']));
    expect(byPid.size).toBe(4);
    await store.close();
  });

  it('records the schema version, creates parent directories and reopens without migrating again', async () => {
    const path = join(tempDir(), 'a', 'b', 'registry.db');
    const store = new SqliteRegistryStore(path);
    expect(store.schemaVersion).toBe(1);
    await store.createVersion({ model: 'weather', sha256: SHA, sizeBytes: 1, signature: SIGNATURE });
    await store.close();

    const reopened = new SqliteRegistryStore(path);
    expect((await reopened.getVersion('weather', 1))?.sha256).toBe(SHA);
    await reopened.close();
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT version FROM schema_version').pluck().all()).toEqual([1]);
    db.close();
  });

  it('refuses a database written by a newer schema', async () => {
    const path = join(tempDir(), 'registry.db');
    await new SqliteRegistryStore(path).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_version (version, applied_at) VALUES (99, ?)').run(new Date().toISOString());
    db.close();
    expect(() => new SqliteRegistryStore(path)).toThrow(/schema version 99 is newer/);
  });

  it('enforces foreign keys, so an alias can never point at a missing version', async () => {
    const path = join(tempDir(), 'registry.db');
    const store = new SqliteRegistryStore(path);
    await store.createVersion({ model: 'weather', sha256: SHA, sizeBytes: 1, signature: SIGNATURE });
    await store.setAlias('weather', 'champion', 1);
    await store.close();
    const db = new Database(path);
    db.pragma('foreign_keys = ON');
    expect(() => db.prepare('DELETE FROM versions WHERE version = 1').run()).toThrow(/FOREIGN KEY/);
    db.close();
  });
});

describe('openRegistryStore', () => {
  it('opens sqlite:// paths relative to the working directory, and absolute ones', async () => {
    const dir = tempDir();
    const rel = await openRegistryStore(`sqlite://${relative(process.cwd(), join(dir, 'rel.db'))}`);
    expect((rel as SqliteRegistryStore).path).toBe(join(dir, 'rel.db'));
    await rel.close();
    const abs = await openRegistryStore(`sqlite://${join(dir, 'abs.db')}`);
    expect((abs as SqliteRegistryStore).path).toBe(join(dir, 'abs.db'));
    await abs.close();
  });

  it('opens an in-memory store', async () => {
    const store = await openRegistryStore('sqlite::memory:');
    expect(store).toBeInstanceOf(SqliteRegistryStore);
    await store.ensureModel('weather');
    expect(await store.listModels()).toHaveLength(1);
    await store.close();
  });

  it('names the unsupported scheme and the available ones', async () => {
    await expect(openRegistryStore('mysql://db/berth')).rejects.toMatchObject({
      kind: 'BAD_REQUEST',
      message: "unsupported store URI scheme 'mysql:' (available: sqlite, postgres)",
    });
    await expect(openRegistryStore('berth.db')).rejects.toMatchObject({ kind: 'BAD_REQUEST' });
    await expect(openRegistryStore('sqlite://')).rejects.toMatchObject({ kind: 'BAD_REQUEST' });
  });
});
