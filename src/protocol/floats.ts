/**
 * Float text for the encoder: the shortest decimal that reads back as the same float32 (or half),
 * so 0.1f prints "0.1" rather than its float64 expansion "0.10000000149011612".
 *
 * Fast path: scale the value and its rounding interval (the midpoints to its float32 neighbours)
 * by a power of ten in float64 arithmetic, whose error (~1e-16 relative) is far below the interval
 * (~6e-8 relative for float32), and take the integer nearest the value inside the interval with
 * the fewest digits. Whenever a decision lands within a hair of a boundary or a tie, the slow path
 * decides exactly with toPrecision + Math.fround. Output text follows Number.prototype.toString
 * (fixed notation for 1e-7 <= |v| < 1e21, else exponent), so it is always a valid JSON number.
 * Among equally short candidates the one nearest the value wins. FP16 (65,536 values, memoised)
 * keeps a value's exact text when the rounded one is no shorter: 65504, not 65500.
 * -0 prints "-0"; NaN and +-Infinity print as the strings "NaN", "Infinity", "-Infinity".
 */
import { float16BitsToFloat32, float32ToFloat16Bits } from '../onnx/index.js';

const F32_MIN_NORMAL = 2 ** -126;
const F16_MIN_NORMAL = 2 ** -14;
/** Integer powers of ten that float64 holds exactly. */
const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => 10 ** i);
const INV_POW10: readonly number[] = POW10.map((p) => 1 / p);
/** How close (in scaled units, values < 1e10) a decision may come to a boundary before we distrust it. */
const EPS = 1e-5;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function nonFinite(v: number): string {
  return Number.isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
}

/** x * 10^q, in correctly rounded steps of at most 10^22 (one step for |q| <= 22). */
function scale(x: number, q: number): number {
  let r = x;
  let k = q;
  for (; k > 22; k -= 22) r *= 1e22;
  for (; k < -22; k += 22) r /= 1e22;
  return k >= 0 ? r * POW10[k]! : r / POW10[-k]!;
}

/** Number.prototype.toString's layout for digits `d` (no trailing zeros) times 10^exp. */
function layout(negative: boolean, d: number, exp: number): string {
  const digits = String(d);
  const k = digits.length;
  const n = k + exp; // value = 0.digits * 10^n
  let s: string;
  if (k <= n && n <= 21) s = digits + '0'.repeat(n - k);
  else if (0 < n && n <= 21) s = `${digits.slice(0, n)}.${digits.slice(n)}`;
  else if (-6 < n && n <= 0) s = `0.${'0'.repeat(-n)}${digits}`;
  else {
    const e = n - 1;
    s = `${digits[0]}${k > 1 ? `.${digits.slice(1)}` : ''}e${e >= 0 ? '+' : '-'}${Math.abs(e)}`;
  }
  return negative ? `-${s}` : s;
}

/**
 * Shortest decimal (pStart..9 significant digits) strictly inside (lo, hi), the interval around
 * a > 0 whose binary exponent is `exp2`; the candidate nearest a wins. Works on a, lo and hi scaled
 * to 9-digit integers; undefined when a decision is too close to call in float64.
 */
function shortestIn(a: number, lo: number, hi: number, exp2: number, pStart: number, negative: boolean): string | undefined {
  // floor(log10(a)) from the binary exponent; off by at most one, fixed below.
  let e10 = Math.floor(exp2 * 0.3010299956639812);
  let q = 8 - e10;
  let as = scale(a, q);
  if (as >= 1e9) {
    e10++;
    q--;
    as = scale(a, q);
  } else if (as < 1e8) {
    e10--;
    q++;
    as = scale(a, q);
  }
  const los = scale(lo, q);
  const his = scale(hi, q);
  for (let p = pStart; p <= 9; p++) {
    const unit = POW10[9 - p]!;
    // Multiplying by an inexact reciprocal and floor(x + 0.5) are several times faster than a
    // division and Math.round here; both errors are far inside EPS.
    const x = as * INV_POW10[9 - p]!;
    let d = Math.floor(x + 0.5);
    if (Math.abs(x - d) > 0.5 - EPS) return undefined; // a tie between two candidates
    let c = d * unit;
    if (!(c > los + EPS && c < his - EPS)) {
      if (Math.abs(c - los) <= EPS || Math.abs(c - his) <= EPS) return undefined;
      // The nearest was outside the interval; its neighbour on the other side may be inside.
      d = c < los ? d + 1 : d - 1;
      c = d * unit;
      if (Math.abs(c - los) <= EPS || Math.abs(c - his) <= EPS) return undefined;
      if (!(c > los && c < his)) continue;
    }
    // d < 10^9 fits int32, so the zero stripping is integer arithmetic.
    let digits = d | 0;
    let exp = 9 - p - q;
    while (digits % 10 === 0) {
      digits = (digits / 10) | 0;
      exp++;
    }
    return layout(negative, digits, exp);
  }
  return undefined;
}

/**
 * Exact but slower: the first toPrecision(p) that `readsBack`, as Number#toString text; the exact
 * text instead when it is at most `keepExact` characters and no longer (65504 rather than 65500).
 */
function searchPrecision(v: number, pStart: number, pMax: number, readsBack: (t: number) => boolean, keepExact: number): string {
  for (let p = pStart; p <= pMax; p++) {
    const t = String(Number(v.toPrecision(p)));
    if (!readsBack(Number(t))) continue;
    if (keepExact === 0) return t;
    const exact = String(v);
    return exact.length <= keepExact && exact.length <= t.length ? exact : t;
  }
  return String(v);
}

const isF32 = (v: number) => (t: number) => Math.fround(t) === v;

/** Shortest decimal text that reads back as the float32 `v` (which must already be a float32). */
export function formatFloat32(v: number): string {
  if (v === 0) return 1 / v < 0 ? '-0' : '0';
  if (v - v !== 0) return nonFinite(v);
  const negative = v < 0;
  const a = negative ? -v : v;
  f32[0] = a;
  const bits = u32[0]!;
  u32[0] = bits - 1;
  const below = f32[0]!;
  u32[0] = bits + 1;
  const above = bits === 0x7f7fffff ? 2 ** 128 : f32[0]!;
  // Midpoints of float32 neighbours are exact in float64 (25 significant bits).
  const lo = (a + below) / 2;
  const hi = (a + above) / 2;
  const subnormal = a < F32_MIN_NORMAL;
  const exp2 = subnormal ? Math.floor(Math.log2(a)) : (bits >>> 23) - 127;
  // A normal float32's interval is under 1e-6 of its value wide, so at most one 6-digit decimal
  // lies in it: the search can start at 6 digits (shorter ones are that one without zeros).
  const fast = shortestIn(a, lo, hi, exp2, subnormal ? 1 : 6, negative);
  return fast ?? searchPrecision(v, subnormal ? 1 : 6, 9, isF32(v), 0);
}

const F16_TEXT: (string | undefined)[] = new Array(0x10000);

/** Shortest decimal text that converts back to the half-precision `bits` (memoised: 65,536 values). */
export function formatFloat16(bits: number): string {
  const key = bits & 0xffff;
  const cached = F16_TEXT[key];
  if (cached !== undefined) return cached;
  const v = float16BitsToFloat32(key);
  let s: string;
  if (v === 0) s = key & 0x8000 ? '-0' : '0';
  else if (v - v !== 0) s = nonFinite(v);
  else {
    const subnormal = Math.abs(v) < F16_MIN_NORMAL;
    s = searchPrecision(v, subnormal ? 1 : 3, 5, (t) => float32ToFloat16Bits(t) === key, 6);
  }
  F16_TEXT[key] = s;
  return s;
}

/** FP64 text: String(n), except -0, NaN and +-Infinity (see the module comment). */
export function formatFloat64(v: number): string {
  if (v === 0) return 1 / v < 0 ? '-0' : '0';
  if (v - v !== 0) return nonFinite(v);
  return String(v);
}
