import { errors } from '../errors.js';

/**
 * Multinomial logistic regression (softmax) on standardized features, fitted by L-BFGS with
 * an L2 penalty on the weights. Everything is sequential float64 arithmetic with no
 * randomness, so the same data always gives the same parameters, bit for bit.
 */

/** A fitted model. Parameters are float32, exactly as the ONNX graph stores them. */
export interface SoftmaxModel {
  numFeatures: number;
  numClasses: number;
  /** Per-feature training mean and standard deviation. */
  mean: Float32Array;
  std: Float32Array;
  /** numFeatures x numClasses, row-major. */
  weights: Float32Array;
  bias: Float32Array;
}

export interface TrainOptions {
  /** L2 penalty on the weights (not the bias), per unit of mean loss. */
  l2?: number;
  maxIterations?: number;
  /** Stop when the largest gradient component falls below this. */
  tolerance?: number;
  /** A weight per class (e.g. to balance rare classes); 1 for every class by default. */
  classWeights?: readonly number[];
}

export interface TrainResult {
  model: SoftmaxModel;
  iterations: number;
  /** Final penalized mean cross-entropy. */
  loss: number;
}

const HISTORY = 10;

/** Fits a softmax regression to rows `x` (numFeatures columns) and class indices `y`. */
export function trainSoftmax(x: readonly (readonly number[])[], y: readonly number[], numClasses: number, options: TrainOptions = {}): TrainResult {
  const n = x.length;
  const d = x[0]?.length ?? 0;
  if (n === 0 || d === 0) throw errors.badRequest('trainSoftmax needs at least one row and one feature');
  if (y.length !== n) throw errors.badRequest(`trainSoftmax: ${n} rows but ${y.length} labels`);
  const l2 = options.l2 ?? 1e-3;
  const maxIterations = options.maxIterations ?? 500;
  const tolerance = options.tolerance ?? 1e-6;

  const { mean, std } = standardization(x);
  const z = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) z[i * d + j] = (x[i]![j]! - mean[j]!) / std[j]!;
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = y[i]!;
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw errors.badRequest(`trainSoftmax: label ${c} at row ${i} is not a class index`);
    w[i] = options.classWeights?.[c] ?? 1;
  }

  const objective = (theta: Float64Array, grad: Float64Array) => lossAndGradient(theta, grad, z, y, w, n, d, numClasses, l2);
  const { theta, iterations, loss } = lbfgs(objective, d * numClasses + numClasses, maxIterations, tolerance);
  return {
    model: {
      numFeatures: d,
      numClasses,
      mean: Float32Array.from(mean),
      std: Float32Array.from(std),
      weights: Float32Array.from(theta.subarray(0, d * numClasses)),
      bias: Float32Array.from(theta.subarray(d * numClasses)),
    },
    iterations,
    loss,
  };
}

function standardization(x: readonly (readonly number[])[]): { mean: Float64Array; std: Float64Array } {
  const n = x.length;
  const d = x[0]!.length;
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const row of x) for (let j = 0; j < d; j++) mean[j]! += row[j]! / n;
  for (const row of x) for (let j = 0; j < d; j++) std[j]! += (row[j]! - mean[j]!) ** 2 / n;
  // A constant column would divide by zero; leave it unscaled (it then only shifts the bias).
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]!) || 1;
  return { mean, std };
}

/** Weighted mean cross-entropy plus (l2/2)·|W|², writing its gradient into `grad`. */
function lossAndGradient(
  theta: Float64Array,
  grad: Float64Array,
  z: Float64Array,
  y: readonly number[],
  w: Float64Array,
  n: number,
  d: number,
  k: number,
  l2: number,
): number {
  grad.fill(0);
  const logits = new Float64Array(k);
  const biasAt = d * k;
  let loss = 0;
  let totalWeight = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) logits[c] = theta[biasAt + c]!;
    for (let j = 0; j < d; j++) {
      const v = z[i * d + j]!;
      for (let c = 0; c < k; c++) logits[c]! += v * theta[j * k + c]!;
    }
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, logits[c]!);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(logits[c]! - max);
    const logSum = max + Math.log(sum);
    const wi = w[i]!;
    const yi = y[i]!;
    totalWeight += wi;
    loss += wi * (logSum - logits[yi]!);
    for (let c = 0; c < k; c++) {
      const g = wi * (Math.exp(logits[c]! - logSum) - (c === yi ? 1 : 0));
      grad[biasAt + c]! += g;
      for (let j = 0; j < d; j++) grad[j * k + c]! += g * z[i * d + j]!;
    }
  }
  for (let p = 0; p < grad.length; p++) grad[p]! /= totalWeight;
  loss /= totalWeight;
  for (let p = 0; p < biasAt; p++) {
    loss += 0.5 * l2 * theta[p]! ** 2;
    grad[p]! += l2 * theta[p]!;
  }
  return loss;
}

type Objective = (theta: Float64Array, grad: Float64Array) => number;

/** Limited-memory BFGS with a backtracking (Armijo) line search, starting from zero. */
function lbfgs(f: Objective, size: number, maxIterations: number, tolerance: number): { theta: Float64Array; iterations: number; loss: number } {
  let theta = new Float64Array(size);
  let grad = new Float64Array(size);
  let loss = f(theta, grad);
  const sHist: Float64Array[] = [];
  const yHist: Float64Array[] = [];
  const next = new Float64Array(size);
  const nextGrad = new Float64Array(size);
  let iterations = 0;

  while (iterations < maxIterations && maxAbs(grad) > tolerance) {
    iterations++;
    const direction = twoLoop(grad, sHist, yHist);
    let slope = dot(grad, direction);
    if (slope >= 0) {
      // Not a descent direction (curvature history went stale): restart from steepest descent.
      sHist.length = 0;
      yHist.length = 0;
      for (let p = 0; p < size; p++) direction[p] = -grad[p]!;
      slope = dot(grad, direction);
    }
    let step = sHist.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let nextLoss = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let p = 0; p < size; p++) next[p] = theta[p]! + step * direction[p]!;
      nextLoss = f(next, nextGrad);
      if (nextLoss <= loss + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(nextLoss < loss)) break; // No progress possible at float64 precision.

    const s = new Float64Array(size);
    const yv = new Float64Array(size);
    for (let p = 0; p < size; p++) {
      s[p] = next[p]! - theta[p]!;
      yv[p] = nextGrad[p]! - grad[p]!;
    }
    if (dot(s, yv) > 1e-12) {
      sHist.push(s);
      yHist.push(yv);
      if (sHist.length > HISTORY) {
        sHist.shift();
        yHist.shift();
      }
    }
    const relativeChange = (loss - nextLoss) / Math.max(Math.abs(loss), 1e-12);
    theta = Float64Array.from(next);
    grad = Float64Array.from(nextGrad);
    loss = nextLoss;
    if (relativeChange < 1e-14) break;
  }
  return { theta, iterations, loss };
}

/** The L-BFGS two-loop recursion: an approximation of -H⁻¹·grad. */
function twoLoop(grad: Float64Array, sHist: Float64Array[], yHist: Float64Array[]): Float64Array {
  const q = Float64Array.from(grad);
  const m = sHist.length;
  const alpha = new Float64Array(m);
  for (let h = m - 1; h >= 0; h--) {
    const rho = 1 / dot(yHist[h]!, sHist[h]!);
    alpha[h] = rho * dot(sHist[h]!, q);
    axpy(-alpha[h]!, yHist[h]!, q);
  }
  if (m > 0) {
    const gamma = dot(sHist[m - 1]!, yHist[m - 1]!) / dot(yHist[m - 1]!, yHist[m - 1]!);
    for (let p = 0; p < q.length; p++) q[p]! *= gamma;
  }
  for (let h = 0; h < m; h++) {
    const rho = 1 / dot(yHist[h]!, sHist[h]!);
    const beta = rho * dot(yHist[h]!, q);
    axpy(alpha[h]! - beta, sHist[h]!, q);
  }
  for (let p = 0; p < q.length; p++) q[p] = -q[p]!;
  return q;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let p = 0; p < a.length; p++) s += a[p]! * b[p]!;
  return s;
}

function axpy(a: number, x: Float64Array, into: Float64Array): void {
  for (let p = 0; p < x.length; p++) into[p]! += a * x[p]!;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let p = 0; p < a.length; p++) m = Math.max(m, Math.abs(a[p]!));
  return m;
}

/**
 * Class probabilities for one row, computed the way the ONNX graph does: float32 inputs and
 * parameters, standardization rounded to float32, then float64 for the rest.
 */
export function predictProbabilities(model: SoftmaxModel, row: readonly number[]): number[] {
  const { numFeatures: d, numClasses: k } = model;
  if (row.length !== d) throw errors.shape(`expected ${d} features, got ${row.length}`);
  const logits = Array.from(model.bias);
  for (let j = 0; j < d; j++) {
    const centered = Math.fround(Math.fround(row[j]!) - model.mean[j]!);
    const v = Math.fround(centered / model.std[j]!);
    for (let c = 0; c < k; c++) logits[c]! += v * model.weights[j * k + c]!;
  }
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** The index of the largest value; the first one on a tie, as ONNX ArgMax does. */
export function argMax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
