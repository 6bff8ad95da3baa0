import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { errors } from '../errors.js';

/** The four raw columns the model takes, in input order. */
export const FEATURE_NAMES = ['precipitation', 'temp_max', 'temp_min', 'wind'] as const;
/** The weather labels, in the fixed order of the model's probability columns. */
export const CLASSES = ['drizzle', 'fog', 'rain', 'snow', 'sun'] as const;
/** The column the model predicts. */
export const LABEL_COLUMN = 'weather';

export type WeatherClass = (typeof CLASSES)[number];

/** One day of Seattle weather. */
export interface WeatherRow {
  date: string;
  /** precipitation, temp_max, temp_min, wind (the FEATURE_NAMES order). */
  features: [number, number, number, number];
  label: WeatherClass;
}

const SOURCE_HEADER = ['date', ...FEATURE_NAMES, LABEL_COLUMN].join(',');
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * Finds seattle-weather.csv inside the installed vega-datasets package. The package's
 * `exports` map hides `package.json`, so we resolve its entry point and walk up to the
 * directory whose package.json names it.
 */
export function seattleWeatherCsvPath(): string {
  const entry = createRequire(import.meta.url).resolve('vega-datasets');
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && isVegaDatasetsManifest(manifest)) {
      const csv = join(dir, 'data', 'seattle-weather.csv');
      if (!existsSync(csv)) throw errors.notFound(`vega-datasets has no data/seattle-weather.csv (looked in ${dir})`);
      return csv;
    }
    if (dirname(dir) === dir) throw errors.notFound(`cannot find the vega-datasets package root above ${entry}`);
  }
}

function isVegaDatasetsManifest(path: string): boolean {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  return typeof parsed === 'object' && parsed !== null && 'name' in parsed && parsed.name === 'vega-datasets';
}

/** Reads and parses the Seattle weather data set shipped with vega-datasets. */
export async function loadSeattleWeather(): Promise<WeatherRow[]> {
  const path = seattleWeatherCsvPath();
  return parseWeatherCsv(await readFile(path, 'utf8'), path);
}

/**
 * Parses `date,precipitation,temp_max,temp_min,wind,weather` text (no quoting). Throws a
 * CORRUPT_ARTIFACT error naming the source and line on anything it does not understand.
 */
export function parseWeatherCsv(text: string, source = 'seattle-weather.csv'): WeatherRow[] {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const fail = (line: number, why: string) => errors.corrupt(`${source} line ${line}: ${why}`);
  if (lines[0] !== SOURCE_HEADER) throw fail(1, `expected header "${SOURCE_HEADER}", got "${lines[0] ?? ''}"`);

  const rows: WeatherRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const fields = lines[i]!.split(',');
    if (fields.length !== 6) throw fail(i + 1, `expected 6 fields, got ${fields.length}`);
    const [date, p, tmax, tmin, wind, label] = fields as [string, string, string, string, string, string];
    if (!DATE.test(date)) throw fail(i + 1, `bad date "${date}"`);
    const numbers = [p, tmax, tmin, wind].map((v, j) => {
      if (!NUMBER.test(v)) throw fail(i + 1, `${FEATURE_NAMES[j]} is not a number: "${v}"`);
      return Number(v);
    });
    if (!isWeatherClass(label)) throw fail(i + 1, `unknown weather "${label}" (expected one of ${CLASSES.join(', ')})`);
    rows.push({ date, features: numbers as WeatherRow['features'], label });
  }
  return rows;
}

function isWeatherClass(s: string): s is WeatherClass {
  return (CLASSES as readonly string[]).includes(s);
}

/** The calendar year of a row. */
export function yearOf(row: WeatherRow): number {
  return Number(row.date.slice(0, 4));
}

/** Splits into training years (2012–2014) and the held-out "live" year (2015). */
export function splitByYear(rows: WeatherRow[]): { train: WeatherRow[]; live: WeatherRow[] } {
  return { train: rows.filter((r) => yearOf(r) <= 2014), live: rows.filter((r) => yearOf(r) === 2015) };
}

/** Serializes rows as `precipitation,temp_max,temp_min,wind,weather` CSV (the monitoring format). */
export function toLabeledCsv(rows: WeatherRow[]): string {
  const lines = [[...FEATURE_NAMES, LABEL_COLUMN].join(',')];
  for (const r of rows) lines.push([...r.features.map(String), r.label].join(','));
  return lines.join('\n') + '\n';
}
