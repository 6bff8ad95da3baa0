/**
 * ONNX Runtime in a pool of worker threads, behind the ModelRuntime interface: the main thread keeps
 * the network and the protocol, every worker holds a session of every loaded model, and each run
 * goes to the least busy worker. A worker that dies is replaced and given the models again.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { errors } from '../errors.js';
import type { Signature, Tensor } from '../protocol/types.js';
import type { OnnxRuntimeOptions } from './onnx.js';
import type { LoadedModel, ModelRuntime } from './types.js';
import { workerEntry } from './thread.js';
import { type FromWorker, forTransfer, fromWireError, type ToWorker, type WorkerInit } from './wire.js';

export interface WorkerPoolOptions extends OnnxRuntimeOptions {
  /** Worker threads (default: os.availableParallelism()). */
  workers?: number;
  /** Where worker deaths and restarts are logged. */
  logger?: Pick<Logger, 'warn' | 'error'>;
}

/** A message sent to a worker and not yet answered. */
interface Call {
  msg: ToWorker;
  resolve(m: FromWorker & { ok: true }): void;
  reject(e: unknown): void;
  /** For runs: the model, the caller's inputs (still intact), the outputs asked for, and whether this is the retry. */
  run?: { model: number; inputs: Tensor[]; outputs: string[] | undefined; retried: boolean };
}

interface Slot {
  index: number;
  worker: Worker;
  alive: boolean;
  /** Runs in flight. */
  busy: number;
  /** Models whose session is ready in this worker. */
  models: Set<number>;
  calls: Map<number, Call>;
  started: number;
}

/** Raised inside the pool when a worker exits before answering a load or unload. */
class WorkerGone extends Error {}

/**
 * Workers `berth serve` starts by default: one per core but one, which the main thread keeps for
 * HTTP and JSON; none (models on the main thread) below 3 cores. Measured on 2 cores (bench notes):
 * posting every run to a worker costs CPU, and with no idle core to run it on, 1 or 2 workers served
 * the demo model 0-15% slower than the main thread alone, and the wide MLP no faster.
 */
export function defaultWorkerCount(cores = availableParallelism()): number {
  return cores >= 3 ? cores - 1 : 0;
}

/** Runs ONNX models in worker threads; `close()` stops them. */
export class WorkerPoolRuntime implements ModelRuntime {
  /** Number of workers kept running. */
  readonly size: number;
  private readonly slots: (Slot | undefined)[] = [];
  /** Every loaded model's bytes, shared with the workers and kept to reload a replacement. */
  private readonly models = new Map<number, Uint8Array>();
  private readonly restarts: number[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly init: WorkerInit;
  private readonly log: Pick<Logger, 'warn' | 'error'> | undefined;
  private seq = 0;
  private modelSeq = 0;
  private closed = false;

  constructor(options: WorkerPoolOptions = {}) {
    const { workers, logger, ...ort } = options;
    this.size = Math.max(1, Math.floor(workers ?? availableParallelism()));
    // the cores are shared out among the workers (a session would otherwise take them all)
    const intraOpNumThreads = ort.intraOpNumThreads ?? Math.max(1, Math.floor(availableParallelism() / this.size));
    this.init = { options: { ...ort, intraOpNumThreads } };
    this.log = logger;
    for (let i = 0; i < this.size; i++) this.spawn(i);
  }

  /** The running worker threads (for diagnostics and tests). */
  get threads(): Worker[] {
    return this.slots.flatMap((s) => (s?.alive ? [s.worker] : []));
  }

  /** Loads a model into every worker; INVALID_MODEL when ORT rejects it. */
  async load(bytes: Uint8Array): Promise<LoadedModel> {
    if (this.closed) throw errors.notReady('the worker pool is closed');
    if (bytes.length === 0) throw errors.invalidModel('cannot load model: the model is empty (0 bytes)');
    const id = ++this.modelSeq;
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.byteLength));
    shared.set(bytes);
    this.models.set(id, shared);
    const live = this.live();
    const results = await Promise.allSettled(live.map((s) => this.loadInto(s, id)));
    let signature: Signature | undefined;
    let failure: unknown;
    for (const r of results) {
      if (r.status === 'fulfilled') signature ??= r.value;
      else if (!(r.reason instanceof WorkerGone)) failure ??= r.reason;
    }
    if (failure !== undefined || signature === undefined) {
      await this.unload(id);
      throw failure ?? errors.notReady('every inference worker exited while the model was loading');
    }
    return new PooledModel(this, id, signature);
  }

  /** Runs a loaded model on the least busy worker that holds it. */
  run(model: number, inputs: Tensor[], outputs: string[] | undefined): Promise<Tensor[]> {
    return new Promise((resolve, reject) => {
      const call: Call = {
        msg: { op: 'run', id: 0, model, inputs: [], outputs },
        run: { model, inputs, outputs, retried: false },
        resolve: (m) => resolve(m.outputs ?? []),
        reject,
      };
      this.dispatch(call);
    });
  }

  /** Unloads a model from every worker (each waits for its runs of it first). */
  async unload(model: number): Promise<void> {
    this.models.delete(model);
    await Promise.allSettled(
      this.live().map((s) => {
        s.models.delete(model);
        return this.send(s, { op: 'unload', id: 0, model });
      }),
    );
  }

  /**
   * Ends worker `index` at once, as a crash would: the runs it had not answered are retried once on
   * another worker or fail with NOT_READY, and a replacement starts. The worker exits from its own
   * thread between two runs; Worker.terminate() could stop it inside an ONNX Runtime call, and
   * onnxruntime-node then aborts the whole process (a C++ exception from a torn-down environment).
   */
  exitWorker(index: number, code = 1): void {
    const slot = this.slots[index];
    if (slot?.alive) slot.worker.postMessage({ op: 'exit', id: 0, code } satisfies ToWorker);
  }

  /** Stops every worker (each between two runs, see exitWorker); runs still in flight fail with NOT_READY. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(
      this.live().map(
        (s) =>
          new Promise<void>((resolve) => {
            s.worker.once('exit', () => resolve());
            s.worker.postMessage({ op: 'exit', id: 0, code: 0 } satisfies ToWorker);
            // last resort for a worker stuck in a run that never ends
            setTimeout(() => void s.worker.terminate(), 10_000).unref();
          }),
      ),
    );
  }

  private live(): Slot[] {
    return this.slots.filter((s): s is Slot => s?.alive === true);
  }

  private spawn(index: number): void {
    const { entry, eval: isEval } = workerEntry(import.meta.url, './worker.js');
    const worker = new Worker(entry, { eval: isEval, workerData: this.init, execArgv: [] });
    // the server's sockets keep the process alive; a forgotten pool must not
    worker.unref();
    const slot: Slot = { index, worker, alive: true, busy: 0, models: new Set(), calls: new Map(), started: Date.now() };
    this.slots[index] = slot;
    worker.on('message', (m: FromWorker) => this.answer(slot, m));
    worker.on('error', (e) => this.log?.error({ worker: index, err: e.message }, 'inference worker failed'));
    worker.on('exit', (code) => this.exited(slot, code));
    for (const id of this.models.keys()) {
      this.loadInto(slot, id).catch((e: unknown) => {
        if (!(e instanceof WorkerGone)) {
          this.log?.error({ worker: index, err: e instanceof Error ? e.message : String(e) }, 'reload in a new worker failed');
        }
      });
    }
  }

  private async loadInto(slot: Slot, id: number): Promise<Signature> {
    const bytes = this.models.get(id);
    if (!bytes) throw new WorkerGone();
    const m = await this.send(slot, { op: 'load', id: 0, model: id, bytes });
    if (!this.models.has(id)) {
      // unloaded while this worker was still loading it
      void this.send(slot, { op: 'unload', id: 0, model: id }).catch(() => {});
      throw new WorkerGone();
    }
    slot.models.add(id);
    return m.signature as Signature;
  }

  private send(slot: Slot, msg: ToWorker): Promise<FromWorker & { ok: true }> {
    return new Promise((resolve, reject) => {
      if (!slot.alive) return reject(new WorkerGone());
      msg.id = ++this.seq;
      slot.calls.set(msg.id, { msg, resolve, reject });
      slot.worker.postMessage(msg);
    });
  }

  /** Sends a run to the least busy live worker holding its model; NOT_READY when there is none. */
  private dispatch(call: Call): void {
    const run = call.run;
    if (!run) return;
    const model = run.model;
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (s?.alive && s.models.has(model) && (best === undefined || s.busy < best.busy)) best = s;
    }
    if (!best) {
      call.reject(errors.notReady(this.closed ? 'the worker pool is closed' : 'no inference worker holds this model right now (restarting); retry'));
      return;
    }
    const wire = forTransfer(run.inputs, true);
    const msg: ToWorker = { op: 'run', id: ++this.seq, model, inputs: wire.tensors, outputs: run.outputs };
    call.msg = msg;
    best.busy++;
    best.calls.set(msg.id, call);
    best.worker.postMessage(msg, wire.transfer);
  }

  private answer(slot: Slot, m: FromWorker): void {
    const call = slot.calls.get(m.id);
    if (!call) return;
    slot.calls.delete(m.id);
    if (call.msg.op === 'run') slot.busy--;
    if (m.ok) call.resolve(m);
    else call.reject(fromWireError(m.error));
  }

  /** A worker ended: retry its runs once elsewhere (or fail them with 503) and start a replacement. */
  private exited(slot: Slot, code: number): void {
    if (!slot.alive) return;
    slot.alive = false;
    const calls = [...slot.calls.values()];
    slot.calls.clear();
    slot.busy = 0;
    if (!this.closed) this.log?.warn({ worker: slot.index, code, inflight: calls.length }, 'inference worker exited; replacing it');
    for (const call of calls) {
      if (!call.run) call.reject(new WorkerGone());
      else if (!call.run.retried && !this.closed) {
        call.run.retried = true;
        this.dispatch(call);
      } else {
        call.reject(errors.notReady(`the inference worker running this request exited (code ${code}); retry`));
      }
    }
    if (this.closed) return;
    // back off when a worker keeps dying (a model that crashes ORT), up to 5 s
    const quick = Date.now() - slot.started < 10_000;
    const n = quick ? (this.restarts[slot.index] ?? 0) + 1 : 0;
    this.restarts[slot.index] = n;
    const delay = n <= 1 ? 0 : Math.min(5_000, 50 * 2 ** n);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.closed) this.spawn(slot.index);
    }, delay);
    this.timers.add(timer);
  }
}

/** A model loaded in every worker of a pool. */
class PooledModel implements LoadedModel {
  /** Runs can proceed in parallel, one per worker. */
  readonly concurrency: number;
  private disposed = false;

  constructor(
    private readonly pool: WorkerPoolRuntime,
    private readonly id: number,
    readonly signature: Signature,
  ) {
    this.concurrency = pool.size;
  }

  run(inputs: Tensor[], outputs?: string[]): Promise<Tensor[]> {
    if (this.disposed) return Promise.reject(errors.notReady('model has been unloaded'));
    return this.pool.run(this.id, inputs, outputs);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.pool.unload(this.id);
  }
}
