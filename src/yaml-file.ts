/** Declarative YAML files (feature definitions, alert rules): parsing, and errors that name the line and field. */
import { type Document, LineCounter, type Node, parseDocument } from 'yaml';
import { errors } from './errors.js';

/** Where a value sits in the document: keys and list indexes from the top. */
export type Path = (string | number)[];

/** A parsed file: its document and the line index its errors need. */
export interface YamlSource {
  doc: Document;
  lines: LineCounter;
  file: string;
}

/** Parses YAML text; text that is not YAML is a 400 naming the file and line. */
export function parseYaml(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line ?? 1;
    throw errors.badRequest(`${file}:${line}: not valid YAML: ${first.message.split('\n')[0]}`, 'file');
  }
  return { doc, lines, file };
}

/**
 * Walks a parsed file's values, reporting the first problem as `file:line: field: message` (a 400
 * whose field is the dotted path). Without a source (a JSON body) errors carry the field only.
 */
export class YamlChecker {
  constructor(
    private readonly source: YamlSource | undefined,
    /** The field named when the problem is the whole document. */
    private readonly rootField = 'file',
  ) {}

  /** The dotted path of a value: `rules[1].condition.metric`. */
  field(path: Path): string {
    return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
  }

  /** The line of the deepest node of `path` that exists. */
  line(path: Path): number {
    if (!this.source) return 1;
    for (let n = path.length; n >= 0; n--) {
      const node = this.source.doc.getIn(path.slice(0, n), true) as Node | undefined;
      if (node && typeof node === 'object' && 'range' in node && node.range) return this.source.lines.linePos(node.range[0]).line;
    }
    return 1;
  }

  fail(path: Path, message: string): never {
    const field = this.field(path) || this.rootField;
    const where = this.source ? `${this.source.file}:${this.line(path)}: ` : '';
    throw errors.badRequest(`${where}${field}: ${message}`, field);
  }

  /** The list at `path` (missing means empty when `optional`). */
  list(value: unknown, path: Path, optional = false): unknown[] {
    if (value === undefined || value === null) {
      if (optional) return [];
      this.fail(path, 'is required (a list)');
    }
    if (!Array.isArray(value)) this.fail(path, 'must be a list');
    return value;
  }

  /** The mapping at `path`, refusing keys outside `allowed`. */
  map(value: unknown, path: Path, allowed: string[]): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(path, 'must be a mapping');
    const obj = value as Record<string, unknown>;
    for (const k of Object.keys(obj)) {
      if (!allowed.includes(k)) this.fail([...path, k], `unknown field (expected one of ${allowed.join(', ')})`);
    }
    return obj;
  }
}
