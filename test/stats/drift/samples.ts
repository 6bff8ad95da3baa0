/**
 * Seeded samples reproduced bit for bit by the Python script that computed the scipy reference
 * values: a 32-bit LCG and an Irwin–Hall normal (the sum of 12 uniforms), so no libm is involved.
 */
export function sample(seed: number, n: number, mu = 0, sd = 1, decimals?: number): Float64Array {
  let s = seed >>> 0;
  const u = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let t = 0;
    for (let k = 0; k < 12; k++) t += u();
    const x = mu + sd * (t - 6);
    out[i] = decimals === undefined ? x : Math.floor(x * 10 ** decimals + 0.5) / 10 ** decimals;
  }
  return out;
}

/** A sorted copy. */
export function sorted(values: Float64Array): Float64Array {
  return Float64Array.from(values).sort();
}
