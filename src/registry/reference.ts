import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { errors, isBerthError } from '../errors.js';

/** What registration records about a reference dataset file. */
export interface ReferenceInfo {
  format: 'csv' | 'parquet';
  columns: string[];
  /** Data rows (the CSV header not counted). */
  rows: number;
}

const FIELD = 'reference.path';

/**
 * Reads a reference dataset's columns and row count: CSV (header row, RFC 4180 quoting, counted
 * streaming) or Parquet (recognised by its `PAR1` magic, read with DuckDB). When `labelColumn` is
 * given it must be one of the columns.
 */
export async function inspectReference(path: string, labelColumn?: string): Promise<ReferenceInfo> {
  const magic = await readMagic(path);
  let info: ReferenceInfo;
  if (magic === 'PAR1') {
    info = await inspectParquet(path);
  } else if (extname(path).toLowerCase() === '.csv') {
    info = await inspectCsv(path);
  } else if (['.parquet', '.pq'].includes(extname(path).toLowerCase())) {
    throw errors.badRequest(`reference dataset '${path}' is not a Parquet file (no PAR1 magic bytes)`, FIELD);
  } else {
    throw errors.badRequest(
      `unknown reference dataset format for '${path}': expected a .csv file (with a header row) or a Parquet file`,
      FIELD,
    );
  }
  if (labelColumn !== undefined && !info.columns.includes(labelColumn)) {
    throw errors.badRequest(
      `label column '${labelColumn}' is not in reference dataset '${path}' (columns: ${info.columns.join(', ')})`,
      'reference.labelColumn',
    );
  }
  return info;
}

async function readMagic(path: string): Promise<string> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw errors.badRequest(`reference dataset '${path}' not found`, FIELD);
    if (code === 'EISDIR') throw errors.badRequest(`reference dataset '${path}' is a directory`, FIELD);
    throw e;
  }
  try {
    const buf = Buffer.alloc(4);
    const { bytesRead } = await fh.read(buf, 0, 4, 0);
    return buf.subarray(0, bytesRead).toString('latin1');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') {
      throw errors.badRequest(`reference dataset '${path}' is a directory`, FIELD);
    }
    throw e;
  } finally {
    await fh.close();
  }
}

/**
 * Streams a CSV once: collects the header's fields, then only counts records, honouring quoted
 * fields (which may hold commas, doubled quotes and line breaks). Blank lines are skipped.
 */
export async function inspectCsv(path: string): Promise<ReferenceInfo> {
  let header: string[] | null = null;
  let fields: string[] = [];
  let field = '';
  let fieldCount = 0;
  let inQuotes = false;
  let quoteSeen = false; // a '"' inside quotes: either a doubled quote or the closing one
  let fieldStarted = false;
  let content = false;
  let prevCR = false;
  let rows = 0;
  let first = true;

  const endField = (): void => {
    if (header === null) fields.push(field);
    field = '';
    fieldCount++;
    fieldStarted = false;
  };
  const endRecord = (): void => {
    if (!content) return; // blank line
    endField();
    if (header === null) {
      header = fields;
      fields = [];
    } else {
      rows++;
      if (fieldCount !== header.length) {
        throw errors.badRequest(
          `reference dataset '${path}': data row ${rows} has ${fieldCount} fields but the header has ${header.length}`,
          FIELD,
        );
      }
    }
    fieldCount = 0;
    content = false;
  };

  const stream = createReadStream(path, { encoding: 'utf8' });
  for await (const chunk of stream) {
    let text = chunk as string;
    if (first) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const collect = header === null;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (inQuotes) {
        if (quoteSeen) {
          quoteSeen = false;
          if (c === '"') {
            if (collect) field += '"';
            continue;
          }
          inQuotes = false; // that quote closed the field; handle c as unquoted below
        } else {
          if (c === '"') quoteSeen = true;
          else if (collect) field += c;
          continue;
        }
      }
      if (prevCR) {
        prevCR = false;
        if (c === '\n') continue;
      }
      if (c === '"' && !fieldStarted) {
        inQuotes = true;
        fieldStarted = true;
        content = true;
      } else if (c === ',') {
        content = true;
        endField();
      } else if (c === '\n' || c === '\r') {
        prevCR = c === '\r';
        endRecord();
      } else {
        if (collect) field += c;
        fieldStarted = true;
        content = true;
      }
    }
  }
  if (inQuotes && !quoteSeen) {
    throw errors.badRequest(`reference dataset '${path}': a quoted field is never closed`, FIELD);
  }
  endRecord();

  const columns: string[] = header ?? [];
  if (columns.length === 0) {
    throw errors.badRequest(`reference dataset '${path}' is empty: a CSV needs a header row`, FIELD);
  }
  checkColumnNames(path, columns);
  return { format: 'csv', columns, rows };
}

function checkColumnNames(path: string, columns: string[]): void {
  const seen = new Set<string>();
  columns.forEach((name, i) => {
    if (name === '') {
      throw errors.badRequest(
        `reference dataset '${path}': column ${i + 1} of the header has no name (a pandas index? write it with index=False)`,
        FIELD,
      );
    }
    if (seen.has(name)) throw errors.badRequest(`reference dataset '${path}': column '${name}' appears twice`, FIELD);
    seen.add(name);
  });
}

/** Reads a Parquet file's column names and row count (from its footer) with DuckDB. */
export async function inspectParquet(path: string): Promise<ReferenceInfo> {
  let duckdb: typeof import('@duckdb/node-api');
  try {
    duckdb = await import('@duckdb/node-api');
  } catch (e) {
    throw errors.badRequest(
      `reading Parquet reference datasets needs the optional package @duckdb/node-api, which is not installed; convert '${path}' to CSV or install it (${(e as Error).message})`,
      FIELD,
    );
  }
  // DuckDB expands glob characters in file names; hand it a link with a plain name instead.
  let linkDir: string | undefined;
  let target = resolve(path);
  if (/[*?[\]{}]/.test(target)) {
    linkDir = await mkdtemp(join(tmpdir(), 'berth-ref-'));
    target = join(linkDir, 'reference.parquet');
    await symlink(resolve(path), target);
  }
  const instance = await duckdb.DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const described = await connection.runAndReadAll('DESCRIBE SELECT * FROM read_parquet($1)', [target]);
    const columns = described.getRowObjects().map((r) => String(r['column_name']));
    const counted = await connection.runAndReadAll('SELECT count(*) AS n FROM read_parquet($1)', [target]);
    const rows = Number(counted.getRowObjects()[0]?.['n'] ?? 0);
    checkColumnNames(path, columns);
    return { format: 'parquet', columns, rows };
  } catch (e) {
    if (isBerthError(e)) throw e;
    throw errors.badRequest(
      `reference dataset '${path}' is not a readable Parquet file: ${(e as Error).message.split('\n')[0]}`,
      FIELD,
    );
  } finally {
    connection.closeSync();
    instance.closeSync();
    if (linkDir !== undefined) await rm(linkDir, { recursive: true, force: true });
  }
}
