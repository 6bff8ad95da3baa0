/** IEEE 754 binary16 <-> number conversion on raw half bits (Node 20 has no Float16Array). */

const scratch = new DataView(new ArrayBuffer(8));

/**
 * Converts a number to IEEE 754 half-precision bits, rounding to nearest even. Works from the
 * float64 bits directly so there is no double rounding through float32.
 */
export function float32ToFloat16Bits(x: number): number {
  scratch.setFloat64(0, x);
  const hi = scratch.getUint32(0);
  const sticky = scratch.getUint32(4) !== 0; // low 32 mantissa bits only ever break ties
  const sign = (hi >>> 16) & 0x8000;
  const exp = (hi >>> 20) & 0x7ff;
  const mant = hi & 0xfffff; // top 20 of the 52 mantissa bits

  if (exp === 0x7ff) {
    if (mant === 0 && !sticky) return sign | 0x7c00;
    return sign | 0x7e00 | (mant >>> 10); // quiet NaN, payload kept where it fits
  }
  if (exp === 0) return sign; // float64 subnormal: far below half range
  const e = exp - 1023 + 15; // re-bias: float64 bias 1023, float16 bias 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e < -10) return sign;

  // Normal halves shift the 21-bit significand (with its implicit 1) by 10; subnormals by more.
  const m = e > 0 ? mant : mant | 0x100000;
  const shift = e > 0 ? 10 : 11 - e; // 10..21
  const base = e > 0 ? (e << 10) | (m >>> shift) : m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const mid = 1 << (shift - 1);
  const up = rem > mid || (rem === mid && (sticky || (base & 1) === 1));
  // A carry out of the mantissa correctly bumps the exponent (subnormal -> normal, max -> inf).
  return sign | (up ? base + 1 : base);
}

/** Converts IEEE 754 half-precision bits to a number (exact). */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
