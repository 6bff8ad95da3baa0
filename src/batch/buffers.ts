/** Reusable typed buffers that collect one model run's worth of good rows. */
import type { DuckDBVector } from '@duckdb/node-api';
import type { Tensor, TensorData } from '../protocol/types.js';
import type { InputPlan } from './mapping.js';

type Numeric = Float32Array | Float64Array | Int32Array | BigInt64Array;

/** What @duckdb/node-api keeps inside a vector; not part of its typed API, so every use checks it first. */
interface VectorInternals {
  items?: unknown;
  validity?: { data?: unknown; offset?: unknown };
}

/**
 * A chunk column's values as one array. The binding's `getItem` tests validity with BigInt arithmetic
 * on every call, which costs more than the model run for a small model; the typed array it reads from
 * is used directly when present (values at null positions are junk: callers read non-null rows only).
 */
export function columnValues(v: DuckDBVector): ArrayLike<number | bigint> {
  const items = (v as unknown as VectorInternals).items;
  if (ArrayBuffer.isView(items) && !(items instanceof DataView) && (items as unknown as ArrayLike<unknown>).length === v.itemCount) {
    return items as unknown as ArrayLike<number | bigint>;
  }
  return Array.from({ length: v.itemCount }, (_, i) => v.getItem(i) as number | bigint);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A chunk column's null test, from its validity bits as 32-bit words when the binding exposes them. */
export function isNullAt(v: DuckDBVector): (r: number) => boolean {
  const validity = (v as unknown as VectorInternals).validity;
  if (validity && validity.offset === 0) {
    if (validity.data === null) return () => false;
    if (validity.data instanceof BigUint64Array) {
      const d = validity.data;
      const words = new Uint32Array(d.buffer, d.byteOffset, d.length * 2);
      // little-endian: bit r of the mask is bit (r % 32) of 32-bit word r / 32
      if (LITTLE_ENDIAN) return (r) => ((words[r >>> 5]! >>> (r & 31)) & 1) === 0;
    }
  }
  return (r) => v.getItem(r) === null;
}

function allocate(datatype: Tensor['datatype'], n: number): Numeric {
  if (datatype === 'FP32') return new Float32Array(n);
  if (datatype === 'FP64') return new Float64Array(n);
  if (datatype === 'INT32') return new Int32Array(n);
  return new BigInt64Array(n);
}

/** Rows waiting for the next model run, with their input row numbers. */
export class RowBuffer {
  /** One buffer for a matrix input, one per input otherwise. */
  private readonly data: Numeric[];
  readonly rows: Float64Array;
  count = 0;

  constructor(
    private readonly plan: InputPlan,
    readonly capacity: number,
  ) {
    const k = plan.columns.length;
    this.data =
      plan.kind === 'matrix' ? [allocate(plan.inputs[0]!.datatype, capacity * k)] : plan.inputs.map((s) => allocate(s.datatype, capacity));
    this.rows = new Float64Array(capacity);
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  /** Copies row `r` of a chunk's columns (from `columnValues`, known non-null at `r`) into the buffer. */
  push(columns: ArrayLike<number | bigint>[], r: number, rowNumber: number): void {
    const k = columns.length;
    const i = this.count++;
    this.rows[i] = rowNumber;
    // The read types match the buffers (DOUBLE -> float, INTEGER -> Int32Array, BIGINT -> BigInt64Array).
    if (this.plan.kind === 'matrix') {
      const buf = this.data[0] as { [j: number]: number | bigint };
      const base = i * k;
      for (let c = 0; c < k; c++) buf[base + c] = columns[c]![r]!;
      return;
    }
    for (let c = 0; c < k; c++) (this.data[c] as { [j: number]: number | bigint })[i] = columns[c]![r]!;
  }

  /** The buffered rows as the model's input tensors (views, valid until the next push). */
  tensors(): Tensor[] {
    const n = this.count;
    if (this.plan.kind === 'matrix') {
      const spec = this.plan.inputs[0]!;
      const k = this.plan.columns.length;
      return [{ name: spec.name, datatype: spec.datatype, shape: [n, k], data: this.data[0]!.subarray(0, n * k) as TensorData }];
    }
    return this.plan.inputs.map((spec, c) => ({
      name: spec.name,
      datatype: spec.datatype,
      shape: spec.shape.length === 1 ? [n] : [n, 1],
      data: this.data[c]!.subarray(0, n) as TensorData,
    }));
  }
}
