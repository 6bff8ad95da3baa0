/**
 * An inference worker: holds an ONNX Runtime session for every model the pool loaded and runs what
 * the main thread sends. Started by WorkerPoolRuntime (pool.ts); never imported by anything else.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errors } from '../errors.js';
import { OnnxRuntime } from './onnx.js';
import type { LoadedModel } from './types.js';
import { type FromWorker, forTransfer, type ToWorker, toWireError, type WorkerInit } from './wire.js';

const port = parentPort;
if (!port) throw new Error('runtime/worker.js runs inside a worker thread started by WorkerPoolRuntime');
const runtime = new OnnxRuntime((workerData as WorkerInit).options);
const models = new Map<number, LoadedModel>();

function reply(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  try {
    port?.postMessage(m, transfer);
  } catch {
    // a buffer that cannot be detached (memory owned by the native side): clone instead
    port?.postMessage(m);
  }
}

async function handle(m: ToWorker): Promise<void> {
  try {
    switch (m.op) {
      case 'run': {
        // called before any await, so a later 'unload' sees this run in flight and waits for it
        const model = models.get(m.model);
        if (!model) throw errors.notReady('model is not loaded in this worker');
        const outputs = await model.run(m.inputs, m.outputs);
        const wire = forTransfer(outputs, false);
        return reply({ id: m.id, ok: true, outputs: wire.tensors }, wire.transfer);
      }
      case 'load': {
        // a private copy: the pool shares one SharedArrayBuffer with every worker
        const model = await runtime.load(new Uint8Array(m.bytes));
        const old = models.get(m.model);
        models.set(m.model, model);
        await old?.dispose();
        return reply({ id: m.id, ok: true, signature: model.signature });
      }
      case 'exit':
        // from this thread, between two runs: never inside an ORT call (see WorkerPoolRuntime.exitWorker)
        return process.exit(m.code);
      case 'unload': {
        const model = models.get(m.model);
        models.delete(m.model);
        await model?.dispose();
        return reply({ id: m.id, ok: true });
      }
    }
  } catch (e) {
    reply({ id: m.id, ok: false, error: toWireError(e) });
  }
}

port.on('message', (m: ToWorker) => void handle(m));
