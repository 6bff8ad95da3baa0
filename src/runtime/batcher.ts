import type { Signature, Tensor, TensorData } from '../protocol/types.js';
import type { LoadedModel } from './types.js';

/** How a model's requests are joined into one run. */
export interface BatchingOptions {
  /** Most rows (sum of first dimensions) in one joined run. */
  maxBatchSize: number;
  /**
   * Longest a request waits for others, in microseconds. 0 joins only requests that are already
   * waiting (decoded in the same turn of the event loop), so it adds no latency.
   */
  maxQueueDelayUs: number;
}

export const DEFAULT_BATCHING: BatchingOptions = { maxBatchSize: 64, maxQueueDelayUs: 0 };

/** True when every input and output has a dynamic first dimension, the batch. */
export function isBatchable(sig: Signature): boolean {
  const all = [...sig.inputs, ...sig.outputs];
  return all.length > 0 && all.every((t) => t.shape.length >= 1 && t.shape[0] === -1);
}

interface Pending {
  inputs: Tensor[];
  outputs: string[] | undefined;
  rows: number;
  resolve(t: Tensor[]): void;
  reject(e: unknown): void;
}

interface Queue {
  items: Pending[];
  rows: number;
  timer: NodeJS.Immediate | NodeJS.Timeout | undefined;
}

/** Joins tensors of the same name along the first dimension. */
function concat(parts: Tensor[], rows: number): Tensor {
  const first = parts[0] as Tensor;
  const shape = [rows, ...first.shape.slice(1)];
  if (Array.isArray(first.data)) {
    const data: string[] = [];
    for (const p of parts) for (const s of p.data as string[]) data.push(s);
    return { name: first.name, datatype: first.datatype, shape, data };
  }
  const total = parts.reduce((n, p) => n + p.data.length, 0);
  const Ctor = first.data.constructor as new (n: number) => Exclude<TensorData, string[]>;
  const data = new Ctor(total);
  let offset = 0;
  for (const p of parts) {
    (data as { set(a: ArrayLike<number | bigint>, o: number): void }).set(p.data as ArrayLike<number | bigint>, offset);
    offset += p.data.length;
  }
  return { name: first.name, datatype: first.datatype, shape, data };
}

/** Rows [from, from + rows) of a tensor whose first dimension is the batch (no copy for typed arrays). */
function sliceRows(t: Tensor, from: number, rows: number, totalRows: number): Tensor {
  const rowSize = totalRows === 0 ? 0 : t.data.length / totalRows;
  const start = from * rowSize;
  const end = start + rows * rowSize;
  const data = Array.isArray(t.data) ? t.data.slice(start, end) : t.data.subarray(start, end);
  return { name: t.name, datatype: t.datatype, shape: [rows, ...t.shape.slice(1)], data: data as TensorData };
}

/**
 * Wraps a model whose first dimension is the batch: concurrent requests with the same trailing
 * shapes and output selection run as one, and each gets its own rows back. A joined run that fails
 * is retried request by request, so one bad request never fails the others.
 */
export class BatchingModel implements LoadedModel {
  readonly signature: Signature;
  private readonly queues = new Map<string, Queue>();
  /** Set when the model turned out not to keep rows independent (an output's first dim differed). */
  private disabled = false;

  constructor(
    private readonly inner: LoadedModel,
    private readonly options: BatchingOptions = DEFAULT_BATCHING,
    private readonly onBatch: (size: number, requests: number) => void = () => {},
  ) {
    this.signature = inner.signature;
  }

  run(inputs: Tensor[], outputs?: string[]): Promise<Tensor[]> {
    const rows = inputs[0]?.shape[0] ?? 0;
    if (this.disabled || inputs.length === 0 || rows >= this.options.maxBatchSize) return this.inner.run(inputs, outputs);
    let key = outputs === undefined ? '*' : outputs.join('\u0000');
    for (const t of inputs) key += `|${t.name}:${t.shape.slice(1).join('x')}`;
    return new Promise<Tensor[]>((resolve, reject) => {
      let q = this.queues.get(key);
      if (q && q.rows + rows > this.options.maxBatchSize) {
        this.flush(key, q);
        q = undefined;
      }
      if (!q) {
        q = { items: [], rows: 0, timer: undefined };
        this.queues.set(key, q);
        const queue = q;
        const delayMs = this.options.maxQueueDelayUs / 1000;
        q.timer = delayMs > 0 ? setTimeout(() => this.flush(key, queue), delayMs) : setImmediate(() => this.flush(key, queue));
      }
      q.items.push({ inputs, outputs, rows, resolve, reject });
      q.rows += rows;
    });
  }

  private flush(key: string, q: Queue): void {
    if (this.queues.get(key) === q) this.queues.delete(key);
    if (q.timer !== undefined) {
      clearTimeout(q.timer as NodeJS.Timeout);
      clearImmediate(q.timer as NodeJS.Immediate);
      q.timer = undefined;
    }
    const items = q.items;
    if (items.length === 0) return;
    this.onBatch(q.rows, items.length);
    if (items.length === 1) {
      const only = items[0] as Pending;
      this.inner.run(only.inputs, only.outputs).then(only.resolve, only.reject);
      return;
    }
    const first = items[0] as Pending;
    const joined = first.inputs.map((t) =>
      concat(
        items.map((it) => it.inputs.find((x) => x.name === t.name) as Tensor),
        q.rows,
      ),
    );
    this.inner.run(joined, first.outputs).then(
      (outs) => {
        if (outs.some((o) => o.shape[0] !== q.rows)) {
          this.disabled = true; // not row-wise: serve this model request by request from now on
          return this.runEach(items);
        }
        let from = 0;
        for (const it of items) {
          it.resolve(outs.map((o) => sliceRows(o, from, it.rows, q.rows)));
          from += it.rows;
        }
      },
      () => this.runEach(items),
    );
  }

  private runEach(items: Pending[]): void {
    for (const it of items) this.inner.run(it.inputs, it.outputs).then(it.resolve, it.reject);
  }

  dispose(): Promise<void> {
    for (const [key, q] of this.queues) this.flush(key, q);
    return this.inner.dispose();
  }
}
