/** How file columns feed a model's inputs and how its outputs become file columns. */
import { errors } from '../errors.js';
import type { Datatype, Signature, Tensor, TensorSpec } from '../protocol/types.js';
import type { ModelVersion } from '../registry/index.js';

/** The SQL type a column is cast to before it reaches a tensor of this datatype. */
export type ReadType = 'DOUBLE' | 'BIGINT' | 'INTEGER';

/** How the columns of one row become the model's input tensors. */
export interface InputPlan {
  /** File columns, in the order they are read. */
  columns: string[];
  /** The SQL type each column is cast to (same order as `columns`). */
  readTypes: ReadType[];
  /** 'matrix': one [-1, k] input fed by every column; 'per-column': one [-1] input per column. */
  kind: 'matrix' | 'per-column';
  inputs: TensorSpec[];
}

const NUMERIC: Partial<Record<Datatype, ReadType>> = { FP32: 'DOUBLE', FP64: 'DOUBLE', INT32: 'INTEGER', INT64: 'BIGINT' };

function readTypeOf(spec: TensorSpec): ReadType {
  const t = NUMERIC[spec.datatype];
  if (t === undefined) {
    throw errors.badRequest(
      `model input '${spec.name}' is ${spec.datatype}; batch inference reads FP32, FP64, INT32 or INT64 inputs`,
      'model',
    );
  }
  return t;
}

/**
 * Chooses the file columns for a model: a single [-1, k] input takes `columns` (or the reference
 * dataset's columns without the label), in order; models with one [-1] or [-1, 1] input per column
 * take their input names (or `columns`, matched in input order).
 */
export function planInputs(mv: ModelVersion, columns?: string[]): InputPlan {
  const { inputs } = mv.signature;
  if (inputs.length === 0) throw errors.badRequest(`model '${mv.model}' has no inputs`, 'model');
  const first = inputs[0]!;
  if (inputs.length === 1 && first.shape.length === 2 && (first.shape[1] ?? -1) !== 1) {
    const chosen = columns ?? referenceColumns(mv);
    const k = first.shape[1]!;
    if (k >= 0 && chosen.length !== k) {
      throw errors.badRequest(
        `model input '${first.name}' takes ${k} columns per row but ${chosen.length} were given (${chosen.join(', ')})`,
        'columns',
      );
    }
    checkColumnList(chosen);
    const t = readTypeOf(first);
    return { columns: chosen, readTypes: chosen.map(() => t), kind: 'matrix', inputs };
  }
  for (const spec of inputs) {
    const perRow = spec.shape.length === 1 || (spec.shape.length === 2 && spec.shape[1] === 1);
    if (!perRow) {
      throw errors.badRequest(
        `model input '${spec.name}' has shape [${spec.shape.join(',')}]; batch inference needs one [-1, k] input or one [-1] input per column`,
        'model',
      );
    }
  }
  const chosen = columns ?? inputs.map((s) => s.name);
  if (chosen.length !== inputs.length) {
    throw errors.badRequest(
      `model has ${inputs.length} inputs (${inputs.map((s) => s.name).join(', ')}) but ${chosen.length} columns were given`,
      'columns',
    );
  }
  checkColumnList(chosen);
  return { columns: chosen, readTypes: inputs.map(readTypeOf), kind: 'per-column', inputs };
}

function referenceColumns(mv: ModelVersion): string[] {
  const ref = mv.reference;
  if (ref === null) {
    throw errors.badRequest(
      `model '${mv.model}' version ${mv.version} has no reference dataset to name its input columns; pass --columns a,b,...`,
      'columns',
    );
  }
  return ref.columns.filter((c) => c !== ref.labelColumn);
}

function checkColumnList(columns: string[]): void {
  const seen = new Set<string>();
  for (const c of columns) {
    if (c === '') throw errors.badRequest('a column name is empty', 'columns');
    if (seen.has(c)) throw errors.badRequest(`column '${c}' is listed twice`, 'columns');
    seen.add(c);
  }
}

/** One output file column: which tensor it comes from and which of its k values. */
export interface OutputColumn {
  name: string;
  tensor: number;
  /** Index within the row's k values; -1 for a [-1] output. */
  index: number;
  sqlType: string;
}

const SQL_TYPES: Record<Datatype, string> = {
  BOOL: 'BOOLEAN',
  UINT8: 'UTINYINT',
  UINT16: 'USMALLINT',
  UINT32: 'UINTEGER',
  UINT64: 'UBIGINT',
  INT8: 'TINYINT',
  INT16: 'SMALLINT',
  INT32: 'INTEGER',
  INT64: 'BIGINT',
  FP16: 'FLOAT',
  FP32: 'FLOAT',
  FP64: 'DOUBLE',
  BYTES: 'VARCHAR',
};

/** Output columns from the tensors of a first run: a [-1, k] output becomes `name_0..name_{k-1}`. */
export function planOutputs(outputs: Pick<Tensor, 'name' | 'datatype' | 'shape'>[], signature: Signature): OutputColumn[] {
  const cols: OutputColumn[] = [];
  outputs.forEach((t, ti) => {
    const sqlType = SQL_TYPES[t.datatype];
    if (t.shape.length <= 1) {
      cols.push({ name: t.name, tensor: ti, index: -1, sqlType });
      return;
    }
    const k = Math.max(1, t.shape.slice(1).reduce((a, b) => a * b, 1));
    for (let j = 0; j < k; j++) cols.push({ name: `${t.name}_${j}`, tensor: ti, index: j, sqlType });
  });
  if (cols.some((c) => c.name === 'row')) {
    const names = signature.outputs.map((o) => o.name).join(', ');
    throw errors.badRequest(`model output 'row' clashes with the row number column (outputs: ${names})`, 'model');
  }
  return cols;
}
