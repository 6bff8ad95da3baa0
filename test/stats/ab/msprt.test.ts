import { describe, expect, it } from 'vitest';
import {
  AlwaysValidPValue,
  Moments,
  mixingVariance,
  msprtLogLikelihoodRatio,
  normalTwoSided,
} from '../../../src/stats/ab/index.js';
import { mulberry32 } from '../../random.js';

/** Standard normal draws by Box–Muller. */
function normals(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

interface Simulation {
  naive: number;
  sequential: number;
}

/**
 * Runs `experiments` A/B experiments of `n` observations per arm, looking after every `every`
 * observations per arm; counts experiments in which the naive z-test or the always-valid mSPRT
 * p-value ever dropped below alpha.
 */
function simulate(opts: {
  experiments: number;
  n: number;
  every: number;
  alpha: number;
  seed: number;
  draw: (rand: () => number, arm: 0 | 1) => number;
  tau2: number;
}): Simulation {
  const rand = mulberry32(opts.seed);
  let naive = 0;
  let sequential = 0;
  for (let e = 0; e < opts.experiments; e++) {
    const arms = [new Moments(), new Moments()] as const;
    const avp = new AlwaysValidPValue(opts.tau2);
    let naiveHit = false;
    for (let i = 1; i <= opts.n; i++) {
      arms[0].push(opts.draw(rand, 0));
      arms[1].push(opts.draw(rand, 1));
      if (i % opts.every !== 0) continue;
      const difference = arms[1].mean - arms[0].mean;
      const variance = arms[0].variance / arms[0].n + arms[1].variance / arms[1].n;
      if (variance > 0 && normalTwoSided(difference / Math.sqrt(variance)) < opts.alpha) naiveHit = true;
      avp.update(difference, variance, i);
    }
    if (naiveHit) naive++;
    if (avp.pValue < opts.alpha) sequential++;
  }
  return { naive: naive / opts.experiments, sequential: sequential / opts.experiments };
}

const ALPHA = 0.05;
const EXPERIMENTS = 400;
// One binomial standard error of a rate of alpha over the simulated experiments.
const SE = Math.sqrt((ALPHA * (1 - ALPHA)) / EXPERIMENTS);

describe('mSPRT always-valid p-value under continuous peeking', () => {
  it('keeps the A/A false-positive rate at alpha while naive repeated z-tests exceed it (continuous)', () => {
    const gauss = normals(mulberry32(7));
    const r = simulate({
      experiments: EXPERIMENTS,
      n: 1000,
      every: 50,
      alpha: ALPHA,
      seed: 1,
      draw: () => 10 + 3 * gauss(),
      tau2: mixingVariance({ pooledStd: 3 }),
    });
    expect(r.sequential).toBeLessThanOrEqual(ALPHA + 2 * SE);
    expect(r.naive).toBeGreaterThan(ALPHA + 3 * SE);
  });

  it('keeps the A/A false-positive rate at alpha while naive repeated z-tests exceed it (binary)', () => {
    const r = simulate({
      experiments: EXPERIMENTS,
      n: 1000,
      every: 50,
      alpha: ALPHA,
      seed: 2,
      draw: (rand) => (rand() < 0.2 ? 1 : 0),
      tau2: mixingVariance({ mde: 0.04 }),
    });
    expect(r.sequential).toBeLessThanOrEqual(ALPHA + 2 * SE);
    expect(r.naive).toBeGreaterThan(ALPHA + 3 * SE);
  });

  it('still detects a real effect the size of its mixing scale', () => {
    const gauss = normals(mulberry32(9));
    const r = simulate({
      experiments: 200,
      n: 1000,
      every: 50,
      alpha: ALPHA,
      seed: 3,
      draw: (_rand, arm) => gauss() + (arm === 1 ? 0.2 : 0),
      tau2: mixingVariance({ mde: 0.2 }),
    });
    expect(r.sequential).toBeGreaterThan(0.8);
  });
});

describe('mSPRT statistic', () => {
  it("equals Johari et al.'s one-sample normal form when V = sigma^2 / n", () => {
    const [sigma2, tau2, n, mean] = [4, 0.09, 250, 0.31];
    const paper =
      0.5 * Math.log(sigma2 / (sigma2 + n * tau2)) + (n * n * tau2 * mean * mean) / (2 * sigma2 * (sigma2 + n * tau2));
    expect(msprtLogLikelihoodRatio(mean, sigma2 / n, tau2)).toBeCloseTo(paper, 12);
  });

  it('keeps the false-positive rate at alpha even when looking after every observation', () => {
    // tau^2 = sigma^2 is the mixing choice most sensitive to a noisy early variance estimate
    const r = simulate({ experiments: 300, n: 300, every: 1, alpha: ALPHA, seed: 4, draw: normals(mulberry32(11)), tau2: 1 });
    expect(r.sequential).toBeLessThanOrEqual(ALPHA + 2 * Math.sqrt((ALPHA * (1 - ALPHA)) / 300));
    expect(r.naive).toBeGreaterThan(2 * ALPHA);
  });

  it('ignores looks before each arm holds the minimum sample', () => {
    const p = new AlwaysValidPValue(1);
    expect(p.update(5, 0.001, 3)).toBe(1);
    expect(p.update(5, 0.001, 10)).toBeLessThan(1e-6);
  });

  it('never lets the always-valid p-value rise', () => {
    const p = new AlwaysValidPValue(0.01);
    const a = p.update(0.5, 0.01);
    const b = p.update(0, 0.01);
    expect(a).toBeLessThan(1);
    expect(b).toBe(a);
  });

  it('chooses the mixing variance from the MDE, else a tenth of the standard deviation', () => {
    expect(mixingVariance({ mde: 0.02 })).toBeCloseTo(0.0004, 15);
    expect(mixingVariance({ pooledStd: 3 })).toBeCloseTo(0.09, 15);
  });
});
