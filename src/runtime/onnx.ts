/** ONNX Runtime (onnxruntime-node) behind the ModelRuntime interface. */
import { availableParallelism } from 'node:os';
import { InferenceSession, type Tensor as OrtTensor } from 'onnxruntime-node';
import { errors, isBerthError } from '../errors.js';
import type { Signature, Tensor, TensorSpec } from '../protocol/types.js';
import { datatypeFromOrt, fromOrtTensor, toOrtTensor } from './tensors.js';
import type { LoadedModel, ModelRuntime } from './types.js';

export interface OnnxRuntimeOptions {
  /**
   * Threads one run may use. Default: every core, because onnxruntime-node runs a session on the
   * calling JS thread, so without a worker pool one run at a time is all there is, and a wide model
   * (512 -> 2048 -> 2048 -> 10 MLP, batches of 64) served 34% more requests with 2 threads than 1 on
   * 2 cores while tiny models lost nothing (bench notes). A worker pool divides the cores among its workers.
   */
  intraOpNumThreads?: number;
  /** ORT graph optimizations applied at load; default 'all'. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * ORT's own stderr logging (0 verbose .. 4 fatal). Default 4: failures reach the caller as coded
   * BerthErrors, and ORT's unstructured lines would otherwise duplicate them outside our logs.
   */
  logSeverityLevel?: 0 | 1 | 2 | 3 | 4;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** ONNX TensorProto.DataType codes the ORT JS binding cannot hand to JavaScript. */
const UNSERVABLE_TYPES: Record<string, string> = {
  '14': 'complex64',
  '15': 'complex128',
  '16': 'bfloat16',
  '17': 'float8e4m3fn',
  '18': 'float8e4m3fnuz',
  '19': 'float8e5m2',
  '20': 'float8e5m2fnuz',
  '23': 'float4e2m1',
};

/** ORT's JS binding reports e.g. a bfloat16 input as "Unsupported data type: 16"; name the type. */
function explainLoadError(message: string): string {
  const code = /^Unsupported data type: (\d+)$/.exec(message)?.[1];
  const name = code === undefined ? undefined : UNSERVABLE_TYPES[code];
  return name === undefined ? message : `${message} (${name} inputs/outputs cannot be served; cast them in the model)`;
}

/** Loads ONNX models into onnxruntime-node sessions. */
export class OnnxRuntime implements ModelRuntime {
  private readonly sessionOptions: InferenceSession.SessionOptions;

  /** Creates a runtime; every model it loads shares these session options. */
  constructor(options: OnnxRuntimeOptions = {}) {
    this.sessionOptions = {
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      executionMode: 'sequential',
      intraOpNumThreads: options.intraOpNumThreads ?? availableParallelism(),
      logSeverityLevel: options.logSeverityLevel ?? 4,
    };
  }

  /** Loads a model from its bytes; INVALID_MODEL if ORT rejects it or it has non-tensor inputs/outputs. */
  async load(bytes: Uint8Array): Promise<LoadedModel> {
    if (bytes.length === 0) throw errors.invalidModel('cannot load model: the model is empty (0 bytes)');
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(bytes, this.sessionOptions);
    } catch (e) {
      throw errors.invalidModel(`cannot load model: ${explainLoadError(messageOf(e))}`, e);
    }
    try {
      return new OnnxModel(session, signatureOf(session));
    } catch (e) {
      await session.release();
      throw e;
    }
  }
}

/** Reads the protocol signature from a session's metadata; dynamic or unknown dims become -1. */
export function signatureOf(session: InferenceSession): Signature {
  return {
    inputs: session.inputMetadata.map((m) => specOf(m, 'input')),
    outputs: session.outputMetadata.map((m) => specOf(m, 'output')),
  };
}

function specOf(m: InferenceSession.ValueMetadata, role: 'input' | 'output'): TensorSpec {
  if (!m.isTensor) {
    const hint = role === 'output' ? 'export with zipmap disabled' : 'Berth serves tensor inputs only';
    throw errors.invalidModel(`${role} '${m.name}' is not a tensor (sequence/map); ${hint}`);
  }
  const datatype = datatypeFromOrt(m.type);
  if (datatype === undefined) {
    throw errors.invalidModel(`${role} '${m.name}' has element type '${m.type}', which Berth cannot serve`);
  }
  const shape = m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  return { name: m.name, datatype, shape };
}

/** One loaded session. Runs may overlap; dispose waits for them before releasing the session. */
class OnnxModel implements LoadedModel {
  private readonly inflight = new Set<Promise<unknown>>();
  private disposed = false;

  constructor(
    private readonly session: InferenceSession,
    readonly signature: Signature,
  ) {}

  async run(inputs: Tensor[], outputs?: string[]): Promise<Tensor[]> {
    if (this.disposed) throw errors.notReady('model has been unloaded');
    const specs = this.selectOutputs(outputs);
    const feeds: Record<string, OrtTensor> = {};
    for (const t of inputs) feeds[t.name] = toOrtTensor(t);

    const pending = this.session.run(
      feeds,
      specs.map((s) => s.name),
    );
    this.inflight.add(pending);
    let results: InferenceSession.ReturnType;
    try {
      results = await pending;
    } catch (e) {
      throw isBerthError(e) ? e : errors.inference(`model run failed: ${messageOf(e)}`, e);
    } finally {
      this.inflight.delete(pending);
    }
    return specs.map((spec) => {
      const value = results[spec.name];
      if (value === undefined) throw errors.inference(`model run failed: output '${spec.name}' missing`);
      return fromOrtTensor(spec.name, spec.datatype, value);
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.allSettled([...this.inflight]);
    await this.session.release();
  }

  /** Output specs to fetch, in signature order; unknown names are the caller's error. */
  private selectOutputs(names?: string[]): TensorSpec[] {
    if (names === undefined) return this.signature.outputs;
    const wanted = new Set(names);
    for (const n of wanted) {
      if (!this.signature.outputs.some((o) => o.name === n)) {
        throw errors.badRequest(`unknown output '${n}'`, 'outputs');
      }
    }
    return this.signature.outputs.filter((o) => wanted.has(o.name));
  }
}
