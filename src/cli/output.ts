import { BerthError } from '../errors.js';

/** Prints a value as JSON (for `--json`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Prints rows as an aligned table with a header. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(headers), ...rows.map(line)].join('\n')}\n`);
}

/** Human-readable byte size. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** `NAME [-1,4]`-style shape text. */
export function formatShape(shape: number[]): string {
  return `[${shape.join(',')}]`;
}

/** Reports an error the way every command does: one line on stderr, a non-zero exit code. */
export function fail(e: unknown, json: boolean): never {
  const message = e instanceof Error ? e.message : String(e);
  const code = e instanceof BerthError ? e.code : 'BERTH_E_INTERNAL';
  if (json) process.stderr.write(`${JSON.stringify({ error: message, code })}\n`);
  else process.stderr.write(`error: ${message}\n`);
  if (!(e instanceof BerthError) && process.env.BERTH_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
  process.exit(e instanceof BerthError && e.status < 500 ? 1 : 2);
}
