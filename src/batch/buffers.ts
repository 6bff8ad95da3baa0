/** Reusable typed buffers that collect one model run's worth of good rows. */
import type { DuckDBVector } from '@duckdb/node-api';
import type { Tensor, TensorData } from '../protocol/types.js';
import type { InputPlan } from './mapping.js';

type Numeric = Float32Array | Float64Array | Int32Array | BigInt64Array;

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

  /** Copies row `r` of a DuckDB chunk's value vectors (known to be non-null) into the buffer. */
  push(vectors: DuckDBVector[], r: number, rowNumber: number): void {
    const k = vectors.length;
    const i = this.count++;
    this.rows[i] = rowNumber;
    if (this.plan.kind === 'matrix') {
      const buf = this.data[0]!;
      const base = i * k;
      if (buf instanceof BigInt64Array) for (let c = 0; c < k; c++) buf[base + c] = vectors[c]!.getItem(r) as bigint;
      else for (let c = 0; c < k; c++) buf[base + c] = vectors[c]!.getItem(r) as number;
      return;
    }
    for (let c = 0; c < k; c++) {
      const buf = this.data[c]!;
      if (buf instanceof BigInt64Array) buf[i] = vectors[c]!.getItem(r) as bigint;
      else buf[i] = vectors[c]!.getItem(r) as number;
    }
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
