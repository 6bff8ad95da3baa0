import type { Tensor, TensorSpec } from '../../protocol/index.js';
import type { ModelVersion } from '../../registry/index.js';
import type { CellValue } from '../live/summary.js';

/** The version tag that names a tabular model's input columns (comma-separated, in order). */
export const FEATURE_NAMES_TAG = 'feature_names';
/** The name the prediction is monitored under, like any column. */
export const PREDICTION_COLUMN = 'prediction';

/** How a version's tensors map to named columns and one prediction per row. */
export interface VersionLayout {
  model: string;
  version: number;
  /**
   * `matrix`: one input of shape [N, F], column j is feature j; `columns`: every input is one column
   * ([N] or [N, 1]); `none`: inputs are not tabular (images, tokens): only predictions are monitored.
   */
  mode: 'matrix' | 'columns' | 'none';
  /** The matrix input's name (mode `matrix`). */
  input: string | undefined;
  features: string[];
  /** The output the prediction is read from, and how. */
  prediction: { output: string; how: 'label' | 'argmax' | 'value' } | undefined;
  labelColumn: string | null;
  hasReference: boolean;
}

const isText = (s: TensorSpec): boolean => s.datatype === 'BYTES';
const isInt = (s: TensorSpec): boolean => /INT/.test(s.datatype);

/** The prediction output: a label (string or integer, one per row) first, else class scores, else a value. */
function predictionOf(outputs: TensorSpec[]): VersionLayout['prediction'] {
  const label = outputs.find((o) => (isText(o) || isInt(o)) && (o.shape.length === 1 || (o.shape.length === 2 && o.shape[1] === 1)));
  if (label) return { output: label.name, how: 'label' };
  const scores = outputs.find((o) => o.shape.length === 2 && o.shape[1] !== 1 && !isText(o));
  if (scores) return { output: scores.name, how: 'argmax' };
  const value = outputs.find((o) => !isText(o) && (o.shape.length === 1 || (o.shape.length === 2 && o.shape[1] === 1)));
  return value ? { output: value.name, how: 'value' } : undefined;
}

/**
 * Works out a version's columns: names from its `feature_names` tag, else from its reference dataset
 * (every column but the label, in order), else `input[j]`.
 */
export function layoutOf(mv: ModelVersion): VersionLayout {
  const base = {
    model: mv.model,
    version: mv.version,
    prediction: predictionOf(mv.signature.outputs),
    labelColumn: mv.reference?.labelColumn ?? null,
    hasReference: mv.reference !== null,
  };
  const inputs = mv.signature.inputs;
  const tagged = mv.tags[FEATURE_NAMES_TAG]
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const only = inputs[0];
  if (inputs.length === 1 && only !== undefined && only.shape.length === 2 && !(only.shape[1] === 1 && tagged === undefined)) {
    const width = only.shape[1] as number;
    const fromReference = mv.reference?.columns.filter((c) => c !== mv.reference?.labelColumn);
    let features: string[];
    if (tagged !== undefined && (width < 0 || tagged.length === width)) features = tagged;
    else if (fromReference !== undefined && (width < 0 || fromReference.length === width)) features = fromReference;
    else if (width > 0) features = Array.from({ length: width }, (_, j) => `${only.name}[${j}]`);
    else return { ...base, mode: 'none', input: undefined, features: [] };
    return { ...base, mode: 'matrix', input: only.name, features };
  }
  if (inputs.length > 0 && inputs.every((i) => i.shape.length === 1 || (i.shape.length === 2 && i.shape[1] === 1))) {
    return { ...base, mode: 'columns', input: undefined, features: inputs.map((i) => i.name) };
  }
  return { ...base, mode: 'none', input: undefined, features: [] };
}

/** Element i of a tensor as a number or string (FP16 bits are left out: counted as missing). */
export function cell(t: Tensor, i: number): CellValue {
  const d = t.data;
  if (Array.isArray(d)) return d[i] ?? null;
  if (t.datatype === 'FP16') return null;
  const v = d[i];
  if (v === undefined) return null;
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Rows in a tensor: its first dimension (1 for scalars). */
export const rowsOf = (t: Tensor | undefined): number => (t === undefined ? 0 : t.shape.length === 0 ? 1 : (t.shape[0] as number));

/** One prediction per row from the outputs: the label, the argmax class index, or the value. */
export function extractPredictions(layout: VersionLayout, outputs: Tensor[], rows: number): CellValue[] {
  const p = layout.prediction;
  const t = p === undefined ? undefined : byName(outputs, p.output);
  const out: CellValue[] = new Array(rows).fill(null);
  if (p === undefined || t === undefined) return out;
  if (p.how === 'argmax') {
    const width = t.shape[1] ?? 1;
    for (let i = 0; i < rows; i++) {
      let best = -1;
      let bestV = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < width; j++) {
        const v = cell(t, i * width + j);
        if (typeof v === 'number' && v > bestV) {
          bestV = v;
          best = j;
        }
      }
      out[i] = best < 0 ? null : String(best);
    }
    return out;
  }
  for (let i = 0; i < rows; i++) {
    const v = cell(t, i);
    out[i] = p.how === 'label' && typeof v === 'number' ? String(v) : v;
  }
  return out;
}

/** Reads cell (i, j) of a call without materialising rows: the hot loops of monitoring use this. */
export interface CellReader {
  rows: number;
  get(i: number, j: number): CellValue;
}

/** Cells of a call's tensors; a class rather than closures, as one is made per call on the drain path. */
class TensorCells implements CellReader {
  rows = 0;
  private matrix: Tensor | undefined;
  private width = 0;
  private columns: (Tensor | undefined)[] | undefined;

  constructor(layout: Pick<VersionLayout, 'mode' | 'input' | 'features'>, inputs: Tensor[]) {
    if (layout.mode === 'matrix') {
      const t = byName(inputs, layout.input);
      if (t === undefined) return;
      this.matrix = t;
      this.width = t.shape[1] ?? 1;
      this.rows = rowsOf(t);
    } else if (layout.mode === 'columns') {
      const tensors = layout.features.map((name) => byName(inputs, name));
      this.columns = tensors;
      for (const t of tensors) this.rows = Math.max(this.rows, rowsOf(t));
    } else this.rows = rowsOf(inputs[0]);
  }

  get(i: number, j: number): CellValue {
    const m = this.matrix;
    if (m !== undefined) return j < this.width ? cell(m, i * this.width + j) : null;
    const t = this.columns?.[j];
    return t === undefined ? null : cell(t, i);
  }
}

function byName(tensors: Tensor[], name: string | undefined): Tensor | undefined {
  for (const t of tensors) if (t.name === name) return t;
  return undefined;
}

/** A reader over the request's tensors in `layout.features` order. */
export function cellReader(layout: Pick<VersionLayout, 'mode' | 'input' | 'features'>, inputs: Tensor[]): CellReader {
  return new TensorCells(layout, inputs);
}

/** A value as JSON text (NaN and infinities become null, as JSON.stringify makes them). */
export function jsonValue(v: CellValue | undefined): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  return JSON.stringify(v);
}

/** The JSON keys of a layout's features, quoted once (`"temp_max":`). */
export const jsonKeys = (layout: Pick<VersionLayout, 'features'>): string[] => layout.features.map((f) => `${JSON.stringify(f)}:`);

/** Row i's inputs as a JSON object text, built directly (no intermediate object). */
export function rowJson(keys: string[], reader: CellReader, i: number): string {
  let s = '{';
  for (let j = 0; j < keys.length; j++) s += (j === 0 ? '' : ',') + keys[j] + jsonValue(reader.get(i, j));
  return `${s}}`;
}

/** Each row's slice of every output as JSON object text (outputs over 256 values a row are left out). */
export function rowOutputs(outputs: Tensor[], rows: number): string[] {
  const parts: string[] = new Array(rows).fill('');
  for (const t of outputs) {
    const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
    if (per > 256) continue;
    const key = `${JSON.stringify(t.name)}:`;
    for (let i = 0; i < rows; i++) {
      let s = key;
      if (t.shape.length <= 1) s += jsonValue(cell(t, i));
      else {
        s += '[';
        for (let k = i * per; k < (i + 1) * per; k++) s += (k === i * per ? '' : ',') + jsonValue(cell(t, k));
        s += ']';
      }
      parts[i] += (parts[i] === '' ? '' : ',') + s;
    }
  }
  return parts.map((p) => `{${p}}`);
}
