import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errors } from '../../src/errors.js';
import type { Signature } from '../../src/protocol/types.js';
import {
  LocalArtifactStore,
  parseModelRef,
  Registry,
  SqliteRegistryStore,
} from '../../src/registry/index.js';

const SIGNATURE: Signature = {
  inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
};
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

/** A stand-in runtime: bytes starting with 'ONNX' are a model; anything else is refused like the engine would. */
const fakeRuntime = {
  inspected: 0,
  async inspect(bytes: Uint8Array): Promise<Signature> {
    this.inspected++;
    if (new TextDecoder().decode(bytes.subarray(0, 4)) !== 'ONNX') {
      throw errors.invalidModel('Load model failed: protobuf parsing failed');
    }
    return SIGNATURE;
  },
};

describe('Registry', () => {
  let dir: string;
  let store: SqliteRegistryStore;
  let artifacts: LocalArtifactStore;
  let registry: Registry;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'berth-registry-'));
    store = new SqliteRegistryStore(join(dir, 'berth.db'));
    artifacts = new LocalArtifactStore(join(dir, 'artifacts'));
    registry = new Registry(store, artifacts, fakeRuntime);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Blob files in the artifact store (ignoring the staging directory). */
  function blobs(): string[] {
    try {
      return readdirSync(join(dir, 'artifacts', 'sha256'), { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => e.name)
        .sort();
    } catch {
      return [];
    }
  }

  function csv(name: string, content: string): string {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  }

  describe('register', () => {
    it('validates, stores the artifact and creates version 1 with the runtime signature', async () => {
      const bytes = enc('ONNX model one');
      const mv = await registry.register('weather', bytes, {
        description: 'softmax regression',
        tags: { team: 'ml' },
        metrics: { accuracy: 0.9 },
        lineage: { run: 'r1' },
      });
      expect(mv).toMatchObject({
        model: 'weather',
        version: 1,
        sha256: sha256(bytes),
        sizeBytes: bytes.byteLength,
        signature: SIGNATURE,
        description: 'softmax regression',
        tags: { team: 'ml' },
        metrics: { accuracy: 0.9 },
        lineage: { run: 'r1' },
        source: null,
        reference: null,
      });
      expect(Buffer.from(await registry.loadArtifact(mv))).toEqual(Buffer.from(bytes));
      expect((await registry.register('weather', enc('ONNX model two'))).version).toBe(2);
    });

    it('registers from a path, recording the file name as the source', async () => {
      const path = join(dir, 'weather.onnx');
      writeFileSync(path, 'ONNX from disk');
      const mv = await registry.register('weather', { path });
      expect(mv.source).toBe('weather.onnx');
      expect(Buffer.from(await registry.loadArtifact(mv)).toString()).toBe('ONNX from disk');
      expect((await registry.register('weather', { path }, { source: 'runs/7/model.onnx' })).source).toBe('runs/7/model.onnx');
    });

    it('sets the alias it is given, recording the actor', async () => {
      const mv = await registry.register('weather', enc('ONNX a'), { alias: 'champion', actor: 'alice' });
      expect((await registry.getModel('weather'))?.aliases).toEqual({ champion: mv.version });
      expect(await registry.aliasHistory('weather')).toMatchObject([{ alias: 'champion', version: 1, actor: 'alice' }]);
    });

    it("refuses an invalid model with INVALID_MODEL and the engine's message, storing nothing", async () => {
      await expect(registry.register('weather', enc('not a model'))).rejects.toMatchObject({
        kind: 'INVALID_MODEL',
        message: 'Load model failed: protobuf parsing failed',
      });
      expect(await registry.getModel('weather')).toBeUndefined();
      expect(blobs()).toEqual([]);
    });

    it('turns any other runtime failure into INVALID_MODEL carrying its reason', async () => {
      const crashing = new Registry(store, artifacts, {
        inspect: async () => {
          throw new Error('opset 99 is not supported');
        },
      });
      await expect(crashing.register('weather', enc('ONNX'))).rejects.toMatchObject({
        kind: 'INVALID_MODEL',
        message: "model 'weather' is not a valid ONNX model: opset 99 is not supported",
      });
      expect(blobs()).toEqual([]);
    });

    it('refuses bad names, aliases, metrics and missing files before inspecting anything', async () => {
      const before = fakeRuntime.inspected;
      await expect(registry.register('bad name', enc('ONNX'))).rejects.toMatchObject({ kind: 'BAD_REQUEST', field: 'name' });
      await expect(registry.register('weather', enc('ONNX'), { alias: '42' })).rejects.toMatchObject({ field: 'alias' });
      await expect(registry.register('weather', enc('ONNX'), { metrics: { acc: Number.NaN } })).rejects.toMatchObject({
        kind: 'BAD_REQUEST',
      });
      await expect(registry.register('weather', { path: join(dir, 'missing.onnx') })).rejects.toMatchObject({
        kind: 'BAD_REQUEST',
        field: 'model',
      });
      expect(fakeRuntime.inspected).toBe(before);
      expect(await registry.listModels()).toEqual([]);
      expect(blobs()).toEqual([]);
    });

    it('attaches a CSV reference dataset, stored as a verified artifact', async () => {
      const content = 'temp_max,precipitation,weather\n12.8,0.0,sun\n10.6,10.9,rain\n';
      const path = csv('reference.csv', content);
      const mv = await registry.register('weather', enc('ONNX'), { reference: { path, labelColumn: 'weather' } });
      expect(mv.reference).toEqual({
        sha256: sha256(content),
        format: 'csv',
        sizeBytes: content.length,
        labelColumn: 'weather',
        columns: ['temp_max', 'precipitation', 'weather'],
        rows: 2,
      });
      expect(readFileSync(await registry.referencePath(mv), 'utf8')).toBe(content);
      const plain = await registry.register('weather', enc('ONNX 2'), { reference: { path } });
      expect(plain.reference?.labelColumn).toBeNull();
      await expect(registry.referencePath(await registry.register('weather', enc('ONNX 3')))).rejects.toMatchObject({
        kind: 'NOT_FOUND',
      });
    });

    it('refuses a label column missing from the reference, storing nothing', async () => {
      const path = csv('reference.csv', 'temp_max,weather\n1,sun\n');
      await expect(
        registry.register('weather', enc('ONNX'), { reference: { path, labelColumn: 'target' } }),
      ).rejects.toMatchObject({
        kind: 'BAD_REQUEST',
        message: expect.stringMatching(/label column 'target'.*columns: temp_max, weather/),
      });
      expect(await registry.getModel('weather')).toBeUndefined();
      expect(blobs()).toEqual([]);
    });
  });

  describe('resolve', () => {
    beforeEach(async () => {
      for (const s of ['one', 'two', 'three']) await registry.register('weather', enc(`ONNX ${s}`));
    });

    it('resolves a version number, an alias, and falls back to champion then the newest', async () => {
      expect((await registry.resolve({ name: 'weather', version: 2 })).version).toBe(2);
      expect((await registry.resolve('weather')).version).toBe(3);
      await registry.setAlias('weather', 'champion', 1);
      await registry.setAlias('weather', 'staging', 2);
      expect((await registry.resolve('weather')).version).toBe(1);
      expect((await registry.resolve('weather@staging')).version).toBe(2);
      expect((await registry.resolve('weather:3')).version).toBe(3);
      expect((await registry.resolve({ name: 'weather', alias: 'champion' })).version).toBe(1);
    });

    it('says what is missing when it cannot resolve', async () => {
      const cases: [string, string][] = [
        ['ghost', "model 'ghost' not found"],
        ['weather:7', "model 'weather' has no version 7"],
        ['weather@canary', "model 'weather' has no alias 'canary'"],
      ];
      for (const [ref, message] of cases) {
        await expect(registry.resolve(ref)).rejects.toMatchObject({ kind: 'NOT_FOUND', message });
      }
      await store.ensureModel('empty');
      await expect(registry.resolve('empty')).rejects.toMatchObject({ message: "model 'empty' has no versions" });
      await expect(registry.resolve({ name: 'weather', version: 1, alias: 'x' })).rejects.toMatchObject({
        kind: 'BAD_REQUEST',
      });
    });

    it('refuses to hand out an artifact whose bytes changed on disk', async () => {
      const mv = await registry.resolve('weather:1');
      writeFileSync(artifacts.pathFor(mv.sha256), 'ONNX tampered');
      await expect(registry.loadArtifact(mv)).rejects.toMatchObject({ kind: 'CORRUPT_ARTIFACT' });
    });
  });

  describe('aliases and deletion', () => {
    it('rolls back the champion by default', async () => {
      for (const s of ['a', 'b']) await registry.register('weather', enc(`ONNX ${s}`), { alias: 'champion' });
      const e = await registry.rollback('weather', undefined, 'ops');
      expect(e).toMatchObject({ alias: 'champion', action: 'rollback', version: 1, previousVersion: 2, actor: 'ops' });
      expect((await registry.resolve('weather')).version).toBe(1);
      await registry.deleteAlias('weather', 'champion');
      expect((await registry.resolve('weather')).version).toBe(2);
    });

    it('deletes a version with its artifact and reference, unless something else still uses them', async () => {
      const ref = csv('ref.csv', 'a,b\n1,2\n');
      const shared = enc('ONNX shared');
      const v1 = await registry.register('weather', shared, { reference: { path: ref } });
      const other = await registry.register('churn', shared);
      const v2 = await registry.register('weather', enc('ONNX alone'), { reference: { path: ref } });
      expect(blobs()).toHaveLength(3);

      await registry.deleteVersion('weather', 2);
      expect(await artifacts.has(v2.sha256)).toBe(false);
      expect(await artifacts.has(v1.reference!.sha256)).toBe(true); // v1 still uses the reference

      await registry.deleteVersion('weather', 1);
      expect(await artifacts.has(v1.sha256)).toBe(true); // churn:1 shares the bytes
      expect(await artifacts.has(v1.reference!.sha256)).toBe(false);
      expect(Buffer.from(await registry.loadArtifact(other)).toString()).toBe('ONNX shared');
      await expect(registry.deleteVersion('weather', 1)).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    });

    it('keeps the artifact when deletion is refused because of an alias', async () => {
      const mv = await registry.register('weather', enc('ONNX'), { alias: 'champion' });
      await expect(registry.deleteVersion('weather', 1)).rejects.toMatchObject({ kind: 'CONFLICT' });
      expect(await artifacts.has(mv.sha256)).toBe(true);
    });

    it('never collects a blob that a registration running at the same time is about to use', async () => {
      const bytes = enc('ONNX reused');
      await registry.register('weather', bytes);
      const [, mv] = await Promise.all([registry.deleteVersion('weather', 1), registry.register('weather', bytes)]);
      expect(Buffer.from(await registry.loadArtifact(mv)).toString()).toBe('ONNX reused');
    });

    it('deletes a whole model and its unshared blobs', async () => {
      await registry.register('weather', enc('ONNX 1'));
      await registry.register('weather', enc('ONNX 2'));
      await registry.deleteModel('weather');
      expect(await registry.getModel('weather')).toBeUndefined();
      expect(blobs()).toEqual([]);
    });

    it('passes metadata edits through to the store', async () => {
      await registry.register('weather', enc('ONNX'));
      await registry.setVersionMetric('weather', 1, 'accuracy_2015', 0.83);
      await registry.setVersionTag('weather', 1, 'stage', 'prod');
      await registry.setVersionDescription('weather', 1, 'evaluated');
      await registry.setModelDescription('weather', 'Seattle weather');
      await registry.setModelTag('weather', 'owner', 'ml');
      expect(await registry.resolve('weather:1')).toMatchObject({
        metrics: { accuracy_2015: 0.83 },
        tags: { stage: 'prod' },
        description: 'evaluated',
      });
      expect(await registry.getModel('weather')).toMatchObject({ description: 'Seattle weather', tags: { owner: 'ml' } });
      expect((await registry.listVersions('weather')).map((v) => v.version)).toEqual([1]);
    });
  });
});

describe('parseModelRef', () => {
  it('reads NAME, NAME:VERSION and NAME@ALIAS', () => {
    expect(parseModelRef('weather')).toEqual({ name: 'weather' });
    expect(parseModelRef('weather:12')).toEqual({ name: 'weather', version: 12 });
    expect(parseModelRef('weather@champion')).toEqual({ name: 'weather', alias: 'champion' });
    expect(parseModelRef('team.weather-v2_x@canary-1')).toEqual({ name: 'team.weather-v2_x', alias: 'canary-1' });
  });

  it('refuses bad syntax with BAD_REQUEST', () => {
    for (const bad of ['', ':1', '@champion', 'weather:', 'weather@', 'weather:0', 'weather:-1', 'weather:1.5', 'weather:01', 'weather@1', 'weather:1@x', 'we ather', 'weather@a b']) {
      expect(() => parseModelRef(bad), bad).toThrow(expect.objectContaining({ kind: 'BAD_REQUEST', field: 'ref' }));
    }
  });

  it('points at the alias syntax when a version is not a number', () => {
    expect(() => parseModelRef('weather:champion')).toThrow(/use weather@champion/);
  });
});
