/** Messages between the worker pool (main thread) and its inference workers. */
import { BerthError, type ErrorKind, ErrorCodes, errors } from '../errors.js';
import type { Signature, Tensor } from '../protocol/types.js';
import type { OnnxRuntimeOptions } from './onnx.js';

/** What a worker is started with. */
export interface WorkerInit {
  options: OnnxRuntimeOptions;
}

/** Main thread -> worker. `model` is the pool's id for a loaded model, the same in every worker. */
export type ToWorker =
  | { op: 'load'; id: number; model: number; bytes: Uint8Array }
  | { op: 'run'; id: number; model: number; inputs: Tensor[]; outputs: string[] | undefined }
  | { op: 'unload'; id: number; model: number }
  | { op: 'exit'; id: number; code: number };

/** A BerthError reduced to what survives structured cloning. */
export interface WireError {
  kind: ErrorKind | undefined;
  message: string;
  field?: string;
}

/** Worker -> main thread: the answer to the message with the same id. */
export type FromWorker =
  | { id: number; ok: true; signature?: Signature; outputs?: Tensor[] }
  | { id: number; ok: false; error: WireError };

/** Flattens an error for postMessage (class identity does not cross threads). */
export function toWireError(e: unknown): WireError {
  if (e instanceof BerthError) return { kind: e.kind, message: e.message, ...(e.field !== undefined ? { field: e.field } : {}) };
  return { kind: undefined, message: e instanceof Error ? e.message : String(e) };
}

/** Rebuilds the BerthError a worker reported; anything else is an inference failure. */
export function fromWireError(w: WireError): BerthError {
  if (w.kind !== undefined && w.kind in ErrorCodes) return new BerthError(w.kind, w.message, { field: w.field });
  return errors.inference(`model run failed: ${w.message}`);
}

/**
 * Tensors ready to post with their buffers in the transfer list. Typed arrays are copied into
 * fresh buffers first: the caller's tensors stay readable (observers, caches and a retry on
 * another worker read them after the run) and a view never drags its whole backing buffer
 * (a request body, Node's Buffer pool) across. BYTES (string[]) are structured-cloned.
 */
export function forTransfer(tensors: Tensor[], copy: boolean): { tensors: Tensor[]; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const out = tensors.map((t): Tensor => {
    if (Array.isArray(t.data)) return t;
    const d = t.data;
    const whole = !copy && d.byteOffset === 0 && d.buffer instanceof ArrayBuffer && d.byteLength === d.buffer.byteLength;
    const data = whole ? d : d.slice();
    if (!transfer.includes(data.buffer as ArrayBuffer)) transfer.push(data.buffer as ArrayBuffer);
    return { name: t.name, datatype: t.datatype, shape: t.shape, data };
  });
  return { tensors: out, transfer };
}
