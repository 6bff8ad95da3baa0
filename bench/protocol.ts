// npm run bench -- protocol
// The V2 REST codec on the hot path: decodeInferRequest and encodeInferResponse for FP32 tensors of
// 1, 100, 1,000 and 10,000 elements, beside JSON.parse / JSON.stringify of the same payload (the baseline a
// codec that does more than parse cannot beat by much). Median ns per op over repeated batches.
// decode starts from the parsed body (the HTTP layer runs JSON.parse), so a request costs parse + decode;
// encode produces the final text, so it replaces JSON.stringify.
import {
  decodeInferRequest,
  encodeInferResponse,
  formatFloat32,
  type InferResponse,
} from '../src/protocol/index.js';
import { median, table } from './lib.js';

const BATCHES = 15;
const BATCH_MS = 20;
let sink = 0;

/** Median ns per call of `fn`, over BATCHES batches each sized to last about BATCH_MS. */
function measure(fn: () => unknown): number {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    if (performance.now() - t0 > BATCH_MS / 4) break;
    n *= 2;
  }
  n *= 4;
  const perOp: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const r = fn();
      if (r === undefined) sink++;
    }
    perOp.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return median(perOp);
}

function randomFloats(n: number, seed: number): number[] {
  const out: number[] = [];
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    out.push(s / 2 ** 31 - 1);
  }
  return out;
}

const fmt = (ns: number) => (ns >= 10_000 ? Math.round(ns).toLocaleString('en-US') : ns.toFixed(ns >= 100 ? 0 : 1));
const rows: (string | number)[][] = [];

for (const n of [1, 100, 1_000, 10_000]) {
  const values = randomFloats(n, n);
  const text = JSON.stringify({ id: 'r1', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, n], data: values }] });
  const body: unknown = JSON.parse(text);
  const parse = measure(() => JSON.parse(text));
  const decode = measure(() => decodeInferRequest(body));
  rows.push([`decode FP32 x${n}`, fmt(decode), fmt(parse), (decode / parse).toFixed(2)]);

  const f32 = Float32Array.from(values);
  const res: InferResponse = {
    modelName: 'm',
    modelVersion: '1',
    id: 'r1',
    outputs: [{ name: 'y', datatype: 'FP32', shape: [1, n], data: f32 }],
  };
  const plain = { model_name: 'm', model_version: '1', id: 'r1', outputs: [{ name: 'y', datatype: 'FP32', shape: [1, n], data: [...f32] }] };
  const stringify = measure(() => JSON.stringify(plain));
  const encode = measure(() => encodeInferResponse(res));
  rows.push([`encode FP32 x${n}`, fmt(encode), fmt(stringify), (encode / stringify).toFixed(2)]);
}

// Other datatypes at 10,000 elements, for scale.
const N = 10_000;
const ints = randomFloats(N, 7).map((v) => Math.round(v * 1e6));
for (const [datatype, data] of [
  ['INT32', ints],
  ['INT64', ints],
  ['FP16', randomFloats(N, 9)],
  ['BOOL', ints.map((v) => v > 0)],
  ['BYTES', ints.map((v) => `s${v}`)],
] as const) {
  const text = JSON.stringify({ inputs: [{ name: 'x', datatype, shape: [N], data }] });
  const body: unknown = JSON.parse(text);
  const decode = measure(() => decodeInferRequest(body));
  const parse = measure(() => JSON.parse(text));
  rows.push([`decode ${datatype} x${N}`, fmt(decode), fmt(parse), (decode / parse).toFixed(2)]);
  const tensor = decodeInferRequest(body).inputs[0]!;
  const res: InferResponse = { modelName: 'm', modelVersion: '1', outputs: [tensor] };
  const plain = { model_name: 'm', model_version: '1', outputs: [{ name: 'x', datatype, shape: [N], data }] };
  const encode = measure(() => encodeInferResponse(res));
  const stringify = measure(() => JSON.stringify(plain));
  rows.push([`encode ${datatype} x${N}`, fmt(encode), fmt(stringify), (encode / stringify).toFixed(2)]);
}

process.stdout.write(`${table(['case', 'codec ns/op', 'JSON ns/op', 'ratio'], rows)}\n\n`);

// FP32 text: the shortest round-trip form (what encode uses) vs String() of the float64 value.
const f32 = Float32Array.from(randomFloats(N, 3));
const shortest = measure(() => {
  let len = 0;
  for (let i = 0; i < f32.length; i++) len += formatFloat32(f32[i]!).length;
  return len;
});
const plainString = measure(() => {
  let len = 0;
  for (let i = 0; i < f32.length; i++) len += String(f32[i]!).length;
  return len;
});
const chars = (f: (v: number) => string) => f32.reduce((a, v) => a + f(v).length, 0) / f32.length;
process.stdout.write(
  `${table(
    ['FP32 element text', 'ns/element', 'chars/element'],
    [
      ['formatFloat32 (shortest float32)', fmt(shortest / N), chars(formatFloat32).toFixed(1)],
      ['String(n) (float64 of the float32)', fmt(plainString / N), chars(String).toFixed(1)],
    ],
  )}\n`,
);

// Context for decode's fixed cost: a typed array over 64 bytes lives outside the V8 heap, and
// allocating one (which decode must do for the result) costs about a microsecond.
const allocRows = [1, 100, 1_000, 10_000].map((n) => [`new Float32Array(${n})`, fmt(measure(() => new Float32Array(n)))]);
process.stdout.write(`\n${table(['allocation alone', 'ns/op'], allocRows)}\n`);
if (sink === -1) process.stdout.write('unreachable\n');
