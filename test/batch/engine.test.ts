import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchInterrupted, runBatch } from '../../src/batch/index.js';
import { type BerthCore, openCore } from '../../src/core.js';
import { buildWeatherDemo, LABEL_COLUMN, type WeatherDemo } from '../../src/demo/index.js';
import { BerthError } from '../../src/errors.js';
import { buildModel } from '../../src/onnx/index.js';
import { identityModel } from '../fixtures/models.js';
import { tempHome } from '../helpers.js';

let home: string;
let cleanup: () => Promise<void>;
let core: BerthCore;
let demo: WeatherDemo;

/** Reads any CSV/JSONL/Parquet file back as row objects, with DuckDB. */
async function readRows(path: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const from = path.endsWith('.jsonl') ? `read_json('${path}', format = 'newline_delimited')` : `'${path}'`;
    const rows = (await conn.runAndReadAll(`SELECT * FROM ${from}`)).getRowObjectsJS();
    return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** What the model says for each row of the demo's live CSV, run directly through ONNX Runtime. */
async function directPredictions(): Promise<{ labels: string[]; probs: number[][] }> {
  const lines = readFileSync(demo.livePath, 'utf8').trim().split('\n');
  const header = lines[0]!.split(',');
  const idx = demo.featureNames.map((f) => header.indexOf(f));
  const rows = lines.slice(1).map((l) => l.split(','));
  const data = new Float32Array(rows.length * idx.length);
  rows.forEach((r, i) => {
    idx.forEach((c, j) => {
      data[i * idx.length + j] = Number(r[c]);
    });
  });
  const model = await core.runtime.load(await core.registry.loadArtifact(await core.registry.resolve('weather')));
  const [probs, labels] = await model.run([{ name: 'features', datatype: 'FP32', shape: [rows.length, idx.length], data }]);
  await model.dispose();
  const p = probs!.data as Float32Array;
  return {
    labels: [...(labels!.data as string[])],
    probs: rows.map((_, i) => Array.from(p.subarray(i * 5, i * 5 + 5))),
  };
}

beforeAll(async () => {
  ({ home, cleanup } = await tempHome());
  core = await openCore({ home });
  demo = await buildWeatherDemo(join(home, 'demo'));
  await core.registry.register('weather', { path: demo.modelPath }, { alias: 'champion', reference: { path: demo.referencePath, labelColumn: LABEL_COLUMN } });
});
afterAll(async () => {
  await core.close();
  await cleanup();
});

async function expectBadRequest(p: Promise<unknown>, field: string, message: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BerthError);
  expect((e as BerthError).status).toBe(400);
  expect((e as BerthError).field).toBe(field);
  expect((e as BerthError).message).toMatch(message);
}

describe('runBatch', () => {
  it('writes the row number and every output as columns, matching a direct ONNX Runtime run', async () => {
    const out = join(home, 'live-out.csv');
    const r = await runBatch(core, { model: 'weather', input: demo.livePath, output: out, batchSize: 100 });
    const expected = await directPredictions();
    expect(r).toMatchObject({ rowsRead: expected.labels.length, rowsWritten: expected.labels.length, errors: 0, errorFile: null });
    expect(r.outputColumns).toEqual(['row', 'probabilities_0', 'probabilities_1', 'probabilities_2', 'probabilities_3', 'probabilities_4', 'label']);
    const rows = await readRows(out);
    expect(rows.map((x) => x['label'])).toEqual(expected.labels);
    expect(rows.map((x) => Number(x['row']))).toEqual(expected.labels.map((_, i) => i + 1));
    rows.forEach((x, i) => {
      for (let j = 0; j < 5; j++) expect(Number(x[`probabilities_${j}`])).toBeCloseTo(expected.probs[i]![j]!, 6);
    });
    // nothing but the output is left behind
    expect(existsSync(`${out}.berth-batch.json`)).toBe(false);
    expect(existsSync(`${out}.berth-batch.duckdb`)).toBe(false);
    expect(existsSync(`${out}.errors.jsonl`)).toBe(false);
  });

  it('reads and writes CSV, JSONL and Parquet with the same predictions', async () => {
    const csv = await readRows((await runBatch(core, { model: 'weather', input: demo.livePath, output: join(home, 'f.csv') })).output);
    const parquetIn = join(home, 'live.parquet');
    const jsonlIn = join(home, 'live.jsonl');
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run(`COPY (SELECT * FROM read_csv('${demo.livePath}')) TO '${parquetIn}' (FORMAT parquet)`);
    await conn.run(`COPY (SELECT * FROM read_csv('${demo.livePath}')) TO '${jsonlIn}' (FORMAT json)`);
    conn.closeSync();
    db.closeSync();
    for (const [input, output] of [
      [parquetIn, join(home, 'f.jsonl')],
      [jsonlIn, join(home, 'f.parquet')],
    ] as const) {
      await runBatch(core, { model: 'weather@champion', input, output });
      const rows = await readRows(output);
      expect(rows.map((x) => x['label'])).toEqual(csv.map((x) => x['label']));
      expect(rows.map((x) => Math.fround(Number(x['probabilities_2'])))).toEqual(csv.map((x) => Math.fround(Number(x['probabilities_2']))));
    }
  });

  it('sends bad rows to the error file with their row number and reason and goes on', async () => {
    const input = join(home, 'bad.csv');
    writeFileSync(
      input,
      ['precipitation,temp_max,temp_min,wind,extra', '0,10,5,3,x', '1.5,abc,5,3,x', '0,10,5,3,x', '2,12,,4,x', '0,11,4', '3,9,2,1,x', ''].join('\n'),
    );
    const out = join(home, 'bad-out.jsonl');
    const r = await runBatch(core, { model: 'weather', input, output: out });
    expect(r).toMatchObject({ rowsRead: 6, rowsWritten: 3, errors: 3 });
    expect((await readRows(out)).map((x) => Number(x['row']))).toEqual([1, 3, 6]);
    const errs = readFileSync(r.errorFile!, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(errs).toEqual([
      { row: 2, reason: "column 'temp_max': 'abc' is not a number" },
      { row: 4, reason: "missing value for column 'temp_min'" },
      { row: 5, reason: "missing value for column 'wind'" },
    ]);
  });

  it('takes --columns for a model without a reference, and integer inputs reject fractions', async () => {
    await core.registry.register('ints', identityModel('int64', ['batch', 2]));
    const input = join(home, 'ints.jsonl');
    writeFileSync(input, ['{"p": 1, "q": 2}', '{"p": 3.5, "q": 4}', '{"q": 6, "p": 5}', '{"p": 7}'].join('\n'));
    await expectBadRequest(runBatch(core, { model: 'ints', input, output: join(home, 'ints.csv') }), 'columns', /pass --columns/);
    const r = await runBatch(core, { model: 'ints', input, output: join(home, 'ints.csv'), columns: ['p', 'q'] });
    expect(r).toMatchObject({ rowsWritten: 2, errors: 2, outputColumns: ['row', 'y_0', 'y_1'] });
    expect(await readRows(join(home, 'ints.csv'))).toEqual([
      { row: 1, y_0: 1, y_1: 2 },
      { row: 3, y_0: 5, y_1: 6 },
    ]);
    const errs = readFileSync(r.errorFile!, 'utf8');
    expect(errs).toContain(`"row":2,"reason":"column 'p': '3.5' is not an integer"`);
    expect(errs).toContain(`"row":4,"reason":"missing value for column 'q'"`);
  });

  it('feeds a model with one named input per column', async () => {
    const model = buildModel({
      inputs: [
        { name: 'a', type: 'float32', shape: ['batch'] },
        { name: 'b', type: 'float32', shape: ['batch'] },
      ],
      outputs: [{ name: 'sum', type: 'float32', shape: ['batch'] }],
      nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }],
      graphName: 'add',
    });
    await core.registry.register('adder', model);
    const input = join(home, 'ab.csv');
    writeFileSync(input, 'b,a\n1,2\n10,20.5\n');
    const r = await runBatch(core, { model: 'adder:1', input, output: join(home, 'ab-out.csv') });
    expect(r.outputColumns).toEqual(['row', 'sum']);
    expect(await readRows(join(home, 'ab-out.csv'))).toEqual([
      { row: 1, sum: 3 },
      { row: 2, sum: 30.5 },
    ]);
  });

  it('refuses bad requests with an error naming the field', async () => {
    const out = join(home, 'x.csv');
    await expectBadRequest(runBatch(core, { model: 'weather', input: demo.livePath, output: out, batchSize: 0 }), 'batch_size', /batch size/);
    await expectBadRequest(runBatch(core, { model: 'weather', input: join(home, 'nope.csv'), output: out }), 'input', /not found/);
    await expectBadRequest(runBatch(core, { model: 'weather', input: demo.modelPath, output: out }), 'input', /\.csv, \.jsonl/);
    await expectBadRequest(runBatch(core, { model: 'weather', input: demo.livePath, output: join(home, 'x.txt') }), 'output', /format/);
    await expectBadRequest(runBatch(core, { model: 'weather', input: demo.livePath, output: join(home, 'no', 'dir.csv') }), 'output', /does not exist/);
    await expectBadRequest(runBatch(core, { model: 'weather', input: demo.livePath, output: out, columns: ['a', 'b'] }), 'columns', /takes 4 columns/);
    await expectBadRequest(
      runBatch(core, { model: 'weather', input: demo.livePath, output: out, columns: ['precipitation', 'temp_max', 'temp_min', 'gust'] }),
      'columns',
      /has no column 'gust'/,
    );
    await expectBadRequest(runBatch(core, { model: 'weather:x', input: demo.livePath, output: out }), 'ref', /version must be/);
    const e = await runBatch(core, { model: 'ghost', input: demo.livePath, output: out }).catch((err: BerthError) => err);
    expect((e as BerthError).status).toBe(404);
    expect(existsSync(out)).toBe(false);
  });

  it('resumes after the last completed chunk and never leaves a partial output', async () => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const input = join(home, 'many.parquet');
    await conn.run(
      `COPY (SELECT (i % 7)::DOUBLE AS precipitation, (i % 30)::DOUBLE AS temp_max, (i % 11)::DOUBLE AS temp_min, CASE WHEN i % 997 = 0 THEN NULL ELSE (i % 5)::DOUBLE END AS wind FROM range(20000) t(i)) TO '${input}' (FORMAT parquet)`,
    );
    conn.closeSync();
    db.closeSync();
    const clean = await runBatch(core, { model: 'weather', input, output: join(home, 'clean.csv'), batchSize: 1000 });

    const out = join(home, 'resumed.csv');
    const abort = new AbortController();
    const first = await runBatch(core, {
      model: 'weather',
      input,
      output: out,
      batchSize: 1000,
      checkpointEveryMs: 0,
      signal: abort.signal,
      onProgress: (p) => {
        if (p.rowsDone >= 7000) abort.abort();
      },
    }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(BatchInterrupted);
    expect(existsSync(out)).toBe(false);
    const cp = JSON.parse(readFileSync(`${out}.berth-batch.json`, 'utf8'));
    expect(cp.rowsRead).toBeGreaterThanOrEqual(7000);
    expect(cp.rowsRead).toBeLessThan(20000);

    const resumed = await runBatch(core, { model: 'weather', input, output: out, batchSize: 1000, resume: true });
    expect(resumed.resumedFrom).toBe(cp.rowsRead);
    expect(resumed).toMatchObject({ rowsRead: 20000, rowsWritten: clean.rowsWritten, errors: clean.errors });
    expect(clean.errors).toBe(21);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(home, 'clean.csv'), 'utf8'));
    expect(readFileSync(resumed.errorFile!, 'utf8')).toBe(readFileSync(clean.errorFile!, 'utf8'));
  });

  it('refuses to resume when the input changed', async () => {
    const input = join(home, 'small.csv');
    writeFileSync(input, 'precipitation,temp_max,temp_min,wind\n0,1,2,3\n1,2,3,4\n');
    const out = join(home, 'small-out.csv');
    const abort = new AbortController();
    abort.abort();
    await expect(runBatch(core, { model: 'weather', input, output: out, batchSize: 1, signal: abort.signal })).rejects.toBeInstanceOf(BatchInterrupted);
    writeFileSync(input, 'precipitation,temp_max,temp_min,wind\n0,1,2,3\n1,2,3,4\n5,6,7,8\n');
    await expectBadRequest(runBatch(core, { model: 'weather', input, output: out, resume: true }), 'resume', /differ/);
    const r = await runBatch(core, { model: 'weather', input, output: out });
    expect(r.rowsWritten).toBe(3);
  });
});
