/** Count, mean and sample standard deviation (n - 1) of one arm. */
export interface ArmSummary {
  n: number;
  mean: number;
  /** Sample standard deviation with n - 1 in the denominator (0 when n < 2). */
  std: number;
}

/** A streaming accumulator (Welford) of an arm's count, mean and variance. */
export class Moments {
  n = 0;
  mean = 0;
  private m2 = 0;

  /** Adds one observation. */
  push(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
  }

  /** Sample variance (n - 1); 0 when n < 2. */
  get variance(): number {
    return this.n < 2 ? 0 : Math.max(0, this.m2 / (this.n - 1));
  }

  /** The arm's summary. */
  summary(): ArmSummary {
    return { n: this.n, mean: this.n === 0 ? 0 : this.mean, std: Math.sqrt(this.variance) };
  }
}

/** Summarises a list of observations. */
export function summarize(values: Iterable<number>): ArmSummary {
  const m = new Moments();
  for (const v of values) m.push(v);
  return m.summary();
}
