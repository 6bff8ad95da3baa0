import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectReference } from '../../src/registry/index.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-reference-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(content: string | Uint8Array, name = `ref-${n++}.csv`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function writeParquet(path: string, rows: number): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(
    `COPY (SELECT i AS temp_max, i * 0.5 AS precipitation, CASE WHEN i % 2 = 0 THEN 'sun' ELSE 'rain' END AS weather
           FROM range(${rows}) t(i))
     TO '${path.replaceAll("'", "''")}' (FORMAT parquet)`,
  );
  connection.closeSync();
  instance.closeSync();
}

describe('inspectReference: CSV', () => {
  it('reads the header and counts data rows', async () => {
    const path = file('temp_max,precipitation,weather\n12.8,0.0,sun\n10.6,10.9,rain\n11.7,0.8,rain\n');
    expect(await inspectReference(path, 'weather')).toEqual({
      format: 'csv',
      columns: ['temp_max', 'precipitation', 'weather'],
      rows: 3,
    });
  });

  it('honours RFC 4180 quoting: commas, doubled quotes and line breaks inside quoted fields', async () => {
    const csv =
      '\uFEFF"id","note, with comma","say ""hi"""\r\n' +
      '1,"line one\r\nline two",x\r\n' +
      '2,"a ""quoted"" word",""\r\n' +
      '3,plain,"multi\nline\nvalue"\r\n';
    expect(await inspectReference(file(csv))).toEqual({
      format: 'csv',
      columns: ['id', 'note, with comma', 'say "hi"'],
      rows: 3,
    });
  });

  it('accepts a last row without a newline, bare CR line ends, and skips blank lines', async () => {
    expect((await inspectReference(file('a,b\r1,2\r\r3,4'))).rows).toBe(2);
    expect((await inspectReference(file('a,b\n1,2\n\n\n3,4\n\n'))).rows).toBe(2);
    expect((await inspectReference(file('a,b\n'))).rows).toBe(0);
  });

  it('counts a large file streaming, across chunk boundaries inside quoted fields', async () => {
    const row = '1,"quoted, with ""escapes"" and\na newline",3\n';
    const path = file(`a,b,c\n${row.repeat(20_000)}`);
    expect(await inspectReference(path)).toEqual({ format: 'csv', columns: ['a', 'b', 'c'], rows: 20_000 });
  });

  it('refuses a label column that is not in the file, listing the columns', async () => {
    const path = file('temp_max,weather\n1,sun\n');
    await expect(inspectReference(path, 'label')).rejects.toMatchObject({
      kind: 'BAD_REQUEST',
      field: 'reference.labelColumn',
      message: `label column 'label' is not in reference dataset '${path}' (columns: temp_max, weather)`,
    });
  });

  it('refuses malformed CSV with a message that says what is wrong', async () => {
    const cases: [string, RegExp][] = [
      ['', /empty: a CSV needs a header row/],
      ['\n\n', /empty/],
      ['a,b\n1,"never closed\n', /quoted field is never closed/],
      ['a,b\n1,2\n3\n', /data row 2 has 1 fields but the header has 2/],
      ['a,a\n1,2\n', /column 'a' appears twice/],
      [',a\n0,1\n', /column 1 of the header has no name/],
    ];
    for (const [content, message] of cases) {
      await expect(inspectReference(file(content))).rejects.toMatchObject({ kind: 'BAD_REQUEST', message: expect.stringMatching(message) });
    }
  });

  it('refuses a missing file and an unknown format', async () => {
    await expect(inspectReference(join(dir, 'missing.csv'))).rejects.toMatchObject({
      kind: 'BAD_REQUEST',
      message: expect.stringMatching(/not found/),
    });
    await expect(inspectReference(file('{"a": 1}', 'data.json'))).rejects.toMatchObject({
      kind: 'BAD_REQUEST',
      message: expect.stringMatching(/unknown reference dataset format/),
    });
    await expect(inspectReference(file('a,b\n', 'fake.parquet'))).rejects.toMatchObject({
      kind: 'BAD_REQUEST',
      message: expect.stringMatching(/not a Parquet file/),
    });
  });
});

describe('inspectReference: Parquet', () => {
  it('reads the schema and row count, recognising the file by its magic bytes', async () => {
    const path = join(dir, 'reference.parquet');
    await writeParquet(path, 1461);
    expect(await inspectReference(path, 'weather')).toEqual({
      format: 'parquet',
      columns: ['temp_max', 'precipitation', 'weather'],
      rows: 1461,
    });
    const renamed = join(dir, 'no-extension');
    await writeParquet(renamed, 5);
    expect((await inspectReference(renamed)).format).toBe('parquet');
  });

  it('reads a file whose name contains glob characters', async () => {
    mkdirSync(join(dir, 'runs [2024]'), { recursive: true });
    const path = join(dir, 'runs [2024]', 'ref*.parquet');
    await writeParquet(path, 7);
    // A sibling the pattern would match: read as a glob, the count would be 7 + 5.
    await writeParquet(join(dir, 'runs [2024]', 'ref1.parquet'), 5);
    expect((await inspectReference(path)).rows).toBe(7);
  });

  it('refuses a label column not in the schema, and a damaged file', async () => {
    const path = join(dir, 'labelled.parquet');
    await writeParquet(path, 3);
    await expect(inspectReference(path, 'target')).rejects.toMatchObject({
      kind: 'BAD_REQUEST',
      message: expect.stringMatching(/columns: temp_max, precipitation, weather/),
    });
    const broken = file(Buffer.concat([Buffer.from('PAR1'), Buffer.alloc(64, 7)]), 'broken.parquet');
    await expect(inspectReference(broken)).rejects.toMatchObject({
      kind: 'BAD_REQUEST',
      message: expect.stringMatching(/not a readable Parquet file/),
    });
  });
});
