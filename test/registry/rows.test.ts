import { describe, expect, it } from 'vitest';
import { type AliasRow, toAliasEvent, toModels, toVersions, type VersionRow } from '../../src/registry/rows.js';
import { rollbackTarget, stackAfterSet } from '../../src/registry/rules.js';
import { SIGNATURE } from './store-contract-helpers.js';

const AT = '2026-01-02T03:04:05.678Z';
const reference = { sha256: 'b'.repeat(64), format: 'csv' as const, sizeBytes: 9, labelColumn: null, columns: ['x'], rows: 3 };

/** The same version as better-sqlite3 (text) and node-postgres (parsed JSON, Date, BIGINT string) return it. */
const sqliteRow: VersionRow = {
  model_id: 1,
  version: 2,
  sha256: 'a'.repeat(64),
  size_bytes: 1234,
  format: 'onnx',
  description: 'd',
  signature: JSON.stringify(SIGNATURE),
  source: 'm.onnx',
  lineage: '{"run":"r1"}',
  reference: JSON.stringify(reference),
  created_at: AT,
};
const postgresRow: VersionRow = {
  ...sqliteRow,
  size_bytes: '1234',
  signature: SIGNATURE,
  lineage: { run: 'r1' },
  reference,
  created_at: new Date(AT),
};

describe('registry rows', () => {
  it('maps a version row to the same ModelVersion whichever engine returned it', () => {
    const tags = [{ owner: 2, key: 'stage', value: 'prod' }];
    const metrics = [{ owner: 2, key: 'auc', value: 0.9 }];
    const [fromSqlite] = toVersions('weather', [sqliteRow], tags, metrics);
    expect(fromSqlite).toEqual({
      model: 'weather',
      version: 2,
      sha256: 'a'.repeat(64),
      sizeBytes: 1234,
      format: 'onnx',
      description: 'd',
      tags: { stage: 'prod' },
      metrics: { auc: 0.9 },
      signature: SIGNATURE,
      source: 'm.onnx',
      lineage: { run: 'r1' },
      reference,
      createdAt: AT,
    });
    expect(toVersions('weather', [postgresRow], tags, metrics)).toEqual([fromSqlite]);
  });

  it('gathers tags, aliases and the latest version of each model', () => {
    const row = (id: number, name: string) => ({ id, name, description: '', created_at: AT, updated_at: new Date(AT), next_version: 1 });
    const models = toModels(
      [row(1, 'a'), row(2, 'b')],
      [{ owner: 2, key: 'team', value: 'x' }],
      [{ owner: 1, key: 'champion', value: 3 }],
      [{ owner: 1, latest: 4 }],
    );
    expect(models).toEqual([
      { name: 'a', description: '', tags: {}, createdAt: AT, updatedAt: AT, aliases: { champion: 3 }, latestVersion: 4 },
      { name: 'b', description: '', tags: { team: 'x' }, createdAt: AT, updatedAt: AT, aliases: {}, latestVersion: null },
    ]);
  });

  it('maps an alias event with a BIGINT id', () => {
    const row = { id: '7', alias: 'champion', version: 2, previous_version: 1, action: 'set' as const, actor: null, at: new Date(AT) };
    expect(toAliasEvent('weather', row)).toEqual({
      id: 7,
      model: 'weather',
      alias: 'champion',
      version: 2,
      previousVersion: 1,
      action: 'set',
      actor: null,
      at: AT,
    });
  });
});

describe('alias stack rules', () => {
  const alias = (version: number, previous: string | number[]): AliasRow => ({
    model_id: 1,
    alias: 'champion',
    version,
    previous,
    updated_at: AT,
  });

  it('pushes the current version on a move, and nothing when the alias stays put', () => {
    expect(stackAfterSet(undefined, 1)).toEqual([]);
    expect(stackAfterSet(alias(2, '[1]'), 3)).toEqual([1, 2]);
    expect(stackAfterSet(alias(2, [1]), 2)).toEqual([1]);
  });

  it('rolls back to the newest earlier version that still exists, popping what it skipped', () => {
    expect(rollbackTarget('weather', alias(4, [1, 2, 3]), new Set([1, 2]))).toEqual({ target: 2, stack: [1] });
    expect(() => rollbackTarget('weather', alias(4, '[4]'), new Set([4]))).toThrow(
      "alias 'champion' of 'weather' has no earlier version to roll back to",
    );
  });
});
