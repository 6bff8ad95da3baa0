import { errors } from '../errors.js';
import type { Signature, Tensor, TensorData } from '../protocol/types.js';
import type { LoadedModel } from './types.js';

/** How a model's requests are queued and joined into one run. */
export interface BatchingOptions {
  /** Most rows (sum of first dimensions) in one joined run; 1 runs every request on its own. */
  maxBatchSize: number;
  /**
   * Longest a request waits for others to join it, in microseconds. 0 joins only requests that are
   * already waiting (decoded in the same turn of the event loop, or queued while every run slot
   * was busy), so it adds no latency.
   */
  maxQueueDelayUs: number;
  /** Batch sizes (rows) worth sending at once: a batch that reaches one goes without waiting out the delay. */
  preferredBatchSizes?: number[];
  /** Most requests waiting in the queue; more are refused with NOT_READY (503) at once. Default 1024. */
  maxQueueSize?: number;
  /** Runs in flight at once (default: the model's `concurrency`, else 1); further batches wait in the queue. */
  maxInflight?: number;
}

export const DEFAULT_BATCHING: BatchingOptions = { maxBatchSize: 64, maxQueueDelayUs: 0 };
export const DEFAULT_MAX_QUEUE_SIZE = 1024;

/** Told about every batching decision (metrics); each callback must be cheap and must not throw. */
export interface BatchObserver {
  /** A run was dispatched with this many rows joined from this many requests. */
  batch?(rows: number, requests: number): void;
  /** A request left the queue after waiting this many seconds. */
  queued?(seconds: number): void;
  /** One dispatched run (joined or not) took this many seconds. */
  computed?(seconds: number): void;
  /** A request was refused because the queue was full. */
  rejected?(): void;
}

/** True when every input and output has a dynamic first dimension, the batch. */
export function isBatchable(sig: Signature): boolean {
  const all = [...sig.inputs, ...sig.outputs];
  return all.length > 0 && all.every((t) => t.shape.length >= 1 && t.shape[0] === -1);
}

interface Pending {
  inputs: Tensor[];
  outputs: string[] | undefined;
  rows: number;
  /** performance.now() when it was queued. */
  at: number;
  resolve(t: Tensor[]): void;
  reject(e: unknown): void;
}

/** Requests that can share one run (same trailing shapes and output selection). */
interface Batch {
  key: string;
  items: Pending[];
  rows: number;
  /** performance.now() by which the batch must be sent (the first request's delay). */
  deadline: number;
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

/** Calls inner.run, turning a synchronous throw into a rejection. */
function runOn(inner: LoadedModel, inputs: Tensor[], outputs: string[] | undefined): Promise<Tensor[]> {
  try {
    return inner.run(inputs, outputs);
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Queues a model's requests in front of a bounded number of run slots. While a slot is free a
 * request is sent as soon as its delay allows; while all are busy requests wait, and requests
 * that can share a run (the model's first dimension is the batch, same trailing shapes and output
 * selection) are joined, so batches grow with the load. A joined run that fails is retried request
 * by request, so one bad request never fails the others. The queue is bounded: a full queue
 * refuses at once with NOT_READY (503), so memory stays bounded under any overload.
 */
export class BatchingModel implements LoadedModel {
  readonly signature: Signature;
  private options: Required<BatchingOptions>;
  private preferred = new Set<number>();
  private preferredTop = Number.POSITIVE_INFINITY;
  /** Batches still taking requests, oldest first (one per key). */
  private readonly open = new Map<string, Batch>();
  /** Batches that are complete (full, preferred size, or a request that runs alone), oldest first. */
  private readonly ready: Batch[] = [];
  private waiting = 0;
  private inflight = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  /** False when the model's first dimension is not the batch, or it turned out not to keep rows independent. */
  private joinable: boolean;
  private disposed = false;

  constructor(
    private readonly inner: LoadedModel,
    options: BatchingOptions = DEFAULT_BATCHING,
    private readonly observer: BatchObserver = {},
  ) {
    this.signature = inner.signature;
    this.joinable = isBatchable(inner.signature);
    this.options = this.configure(options);
  }

  /** Changes the options in place (a version's serving tags changed); queued requests keep their place. */
  configure(options: BatchingOptions): Required<BatchingOptions> {
    this.options = {
      maxBatchSize: Math.max(1, options.maxBatchSize),
      maxQueueDelayUs: Math.max(0, options.maxQueueDelayUs),
      preferredBatchSizes: options.preferredBatchSizes ?? [],
      maxQueueSize: options.maxQueueSize ?? DEFAULT_MAX_QUEUE_SIZE,
      maxInflight: Math.max(1, options.maxInflight ?? this.inner.concurrency ?? 1),
    };
    this.preferred = new Set(this.options.preferredBatchSizes);
    this.preferredTop = this.preferred.size > 0 ? Math.max(...this.preferred) : Number.POSITIVE_INFINITY;
    return this.options;
  }

  /** Requests waiting in the queue (not yet sent to a run). */
  get queued(): number {
    return this.waiting;
  }

  run(inputs: Tensor[], outputs?: string[]): Promise<Tensor[]> {
    if (this.disposed) return Promise.reject(errors.notReady('model has been unloaded'));
    const o = this.options;
    if (this.waiting >= o.maxQueueSize) {
      this.observer.rejected?.();
      return Promise.reject(errors.notReady(`the model's queue is full (${o.maxQueueSize} requests waiting); retry later`));
    }
    const rows = inputs[0]?.shape[0] ?? 0;
    return new Promise<Tensor[]>((resolve, reject) => {
      const item: Pending = { inputs, outputs, rows, at: performance.now(), resolve, reject };
      this.waiting++;
      if (!this.joinable || o.maxBatchSize <= 1 || inputs.length === 0 || rows >= o.maxBatchSize) {
        // runs alone: at once when a slot is free, else in arrival order
        const alone: Batch = { key: '', items: [item], rows, deadline: item.at };
        if (this.inflight < o.maxInflight && this.ready.length === 0) this.dispatch(alone);
        else this.ready.push(alone);
        return;
      }
      let key = outputs === undefined ? '*' : outputs.join('\u0000');
      for (const t of inputs) key += `|${t.name}:${t.shape.slice(1).join('x')}`;
      let b = this.open.get(key);
      if (b && b.rows + rows > o.maxBatchSize) {
        this.close(b);
        b = undefined;
      }
      if (!b) {
        b = { key, items: [], rows: 0, deadline: item.at + o.maxQueueDelayUs / 1000 };
        this.open.set(key, b);
      }
      b.items.push(item);
      b.rows += rows;
      if (b.rows >= o.maxBatchSize || b.rows >= this.preferredTop || this.preferred.has(b.rows)) {
        this.close(b);
        this.pump(false);
      }
      this.schedule();
    });
  }

  /** Moves an open batch to the ready list. */
  private close(b: Batch): void {
    if (this.open.get(b.key) === b) this.open.delete(b.key);
    this.ready.push(b);
  }

  /** Sends batches while run slots are free: ready ones first, then open ones whose deadline has come. */
  private pump(openToo: boolean): void {
    const now = performance.now();
    while (this.inflight < this.options.maxInflight) {
      let b = this.ready.shift();
      if (!b && openToo) {
        const first = this.open.values().next();
        if (!first.done && first.value.deadline <= now) {
          b = first.value;
          this.open.delete(b.key);
        }
      }
      if (!b) return;
      this.dispatch(b);
    }
  }

  /** Wakes the queue at the oldest open batch's deadline (next turn of the event loop when it has passed). */
  private schedule(): void {
    const first = this.open.values().next();
    if (first.done || this.inflight >= this.options.maxInflight) return;
    const at = first.value.deadline;
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    const wait = at - performance.now();
    // setTimeout fires up to ~1 ms late: sleep until 1 ms before, then poll with setImmediate
    const wake = () => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      const left = at - performance.now();
      if (left > 0) {
        this.timerAt = at;
        this.timer = left > 1 ? setTimeout(wake, left - 1) : setImmediate(wake);
        return;
      }
      this.pump(true);
      this.schedule();
    };
    this.timer = wait > 1 ? setTimeout(wake, wait - 1) : setImmediate(wake);
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  /** Runs one batch in a slot; the slot frees (and the queue moves on) when every request in it is answered. */
  private dispatch(b: Batch): void {
    const items = b.items;
    this.inflight++;
    this.waiting -= items.length;
    const started = performance.now();
    const obs = this.observer;
    if (obs.queued) for (const it of items) obs.queued((started - it.at) / 1000);
    obs.batch?.(b.rows, items.length);
    const done = () => {
      obs.computed?.((performance.now() - started) / 1000);
      this.inflight--;
      this.pump(true);
      this.schedule();
    };
    if (items.length === 1) {
      const only = items[0] as Pending;
      runOn(this.inner, only.inputs, only.outputs).then(
        (r) => {
          done();
          only.resolve(r);
        },
        (e: unknown) => {
          done();
          only.reject(e);
        },
      );
      return;
    }
    const first = items[0] as Pending;
    const joined = first.inputs.map((t) =>
      concat(
        items.map((it) => it.inputs.find((x) => x.name === t.name) as Tensor),
        b.rows,
      ),
    );
    runOn(this.inner, joined, first.outputs).then(
      (outs) => {
        if (outs.some((o) => o.shape[0] !== b.rows)) {
          this.joinable = false; // not row-wise: serve this model request by request from now on
          return this.runEach(items, done);
        }
        done();
        let from = 0;
        for (const it of items) {
          it.resolve(outs.map((o) => sliceRows(o, from, it.rows, b.rows)));
          from += it.rows;
        }
      },
      () => this.runEach(items, done),
    );
  }

  private runEach(items: Pending[], done: () => void): void {
    let left = items.length;
    for (const it of items) {
      runOn(this.inner, it.inputs, it.outputs)
        .then(it.resolve, it.reject)
        .finally(() => {
          if (--left === 0) done();
        });
    }
  }

  /** Sends every queued request, then releases the model once they are answered. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.clearTimer();
    for (const b of this.open.values()) this.ready.push(b);
    this.open.clear();
    this.options.maxInflight = Number.POSITIVE_INFINITY;
    this.pump(false);
    await this.inner.dispose();
  }
}
