// The three models of the serving benchmark, and one valid request for each (V2 REST JSON and gRPC).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildModel } from '../src/onnx/index.js';
import { mulberry32 } from '../test/random.js';

/** A V2 input with flat row-major data, as the REST JSON body and the gRPC request both carry it. */
export interface BenchInput {
  name: string;
  datatype: 'FP32' | 'INT64';
  shape: number[];
  data: number[];
}

export interface BenchModel {
  /** Name it is registered and served under. */
  name: string;
  /** What it stands for in the table. */
  label: string;
  /** Where the ONNX file is (the demo and MLP files are written by the bench before registering). */
  file: string;
  inputs: BenchInput[];
}

/** Deterministic pseudo-random numbers in [-1, 1), so every run builds the same model. */
function rng(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() * 2 - 1;
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** A wide MLP, 512 -> 2048 -> 2048 -> 10 (ReLU), fp32 random weights, dynamic batch dimension. */
export function wideMlp(): Uint8Array {
  const sizes = [512, 2048, 2048, 10];
  const next = rng(42);
  const initializers = [];
  const nodes = [];
  let x = 'x';
  for (let l = 0; l < sizes.length - 1; l++) {
    const [fanIn, fanOut] = [sizes[l] as number, sizes[l + 1] as number];
    const scale = 1 / Math.sqrt(fanIn);
    const w = new Float32Array(fanIn * fanOut);
    for (let i = 0; i < w.length; i++) w[i] = next() * scale;
    initializers.push({ name: `w${l}`, type: 'float32' as const, dims: [fanIn, fanOut], data: w });
    initializers.push({ name: `b${l}`, type: 'float32' as const, dims: [fanOut], data: new Float32Array(fanOut) });
    const last = l === sizes.length - 2;
    const out = last ? 'y' : `h${l}`;
    nodes.push({ op: 'Gemm', inputs: [x, `w${l}`, `b${l}`], outputs: [last ? out : `${out}_lin`] });
    if (!last) nodes.push({ op: 'Relu', inputs: [`${out}_lin`], outputs: [out] });
    x = out;
  }
  return buildModel({
    inputs: [{ name: 'x', type: 'float32', shape: ['batch', 512] }],
    outputs: [{ name: 'y', type: 'float32', shape: ['batch', 10] }],
    nodes,
    initializers,
    graphName: 'wide_mlp',
  });
}

/** Path of Silero VAD's legacy model as `@ricky0123/vad-web` ships it. */
export function sileroPath(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@ricky0123/vad-web/package.json')), 'dist', 'silero_vad_legacy.onnx');
}

/** The three benchmark models; `dir` receives the generated MLP. */
export function benchModels(dir: string): Record<string, BenchModel> {
  const next = rng(7);
  return {
    demo: {
      name: 'weather',
      label: 'demo (weather)',
      file: join(dir, 'demo', 'weather.onnx'),
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [0.3, 12.8, 5.0, 4.7] }],
    },
    mlp: {
      name: 'mlp',
      label: 'wide MLP',
      file: join(dir, 'wide-mlp.onnx'),
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 512], data: Array.from({ length: 512 }, () => round4(next())) }],
    },
    vad: {
      name: 'vad',
      label: 'Silero VAD',
      file: sileroPath(),
      // One 96 ms frame at 16 kHz (vad-web's frame size for the legacy model) and a zero LSTM state.
      inputs: [
        { name: 'input', datatype: 'FP32', shape: [1, 1536], data: Array.from({ length: 1536 }, (_, i) => round4(0.3 * Math.sin(i / 9) + 0.05 * next())) },
        { name: 'sr', datatype: 'INT64', shape: [], data: [16000] },
        { name: 'h', datatype: 'FP32', shape: [2, 1, 64], data: new Array(128).fill(0) },
        { name: 'c', datatype: 'FP32', shape: [2, 1, 64], data: new Array(128).fill(0) },
      ],
    },
  };
}

/** The V2 REST JSON body for a model's request. */
export function restBody(m: BenchModel): string {
  return JSON.stringify({ inputs: m.inputs });
}

/** The gRPC ModelInferRequest for a model's request, with raw (little-endian) input contents as Triton's clients send. */
export function grpcRequest(m: BenchModel): object {
  return {
    model_name: m.name,
    inputs: m.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: t.shape })),
    raw_input_contents: m.inputs.map((t) =>
      t.datatype === 'INT64'
        ? Buffer.from(BigInt64Array.from(t.data.map((v) => BigInt(v))).buffer)
        : Buffer.from(Float32Array.from(t.data).buffer),
    ),
  };
}
