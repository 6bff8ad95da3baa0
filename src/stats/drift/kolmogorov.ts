/**
 * The distribution of the two-sided one-sample Kolmogorov–Smirnov statistic D_n, as scipy's
 * `kstwo` evaluates it (Simard & L'Ecuyer 2011): exact Ruben–Gambino cases at the ends, the
 * Durbin matrix (Marsaglia–Tsang–Wang) for small n·d, the Pelz–Good expansion for large n, and
 * Miller's 2·Smirnov approximation in the far tail. `ks2Samp` uses it for its asymptotic p-value.
 */

const PI2 = Math.PI ** 2;
const PI4 = Math.PI ** 4;
const PI6 = Math.PI ** 6;
const SQRT2PI = Math.sqrt(2 * Math.PI);
const SQRT3 = Math.sqrt(3);
const SCALE_EXP = 128;
const SCALE_UP = 2 ** SCALE_EXP;
const SCALE_DOWN = 2 ** -SCALE_EXP;

const clip = (p: number): number => (Number.isNaN(p) ? p : Math.min(1, Math.max(0, p)));

/** log(n! / n^n), summed directly (exact enough for every n we meet, and O(n)). */
function logFactorialOverPower(n: number): number {
  let s = 0;
  for (let i = 1; i <= n; i++) s += Math.log(i / n);
  return s;
}

/** Above this n, `smirnovSf` uses the asymptotic form instead of the exact sum. */
export const SMIRNOV_EXACT_MAX_N = 100_000;

/**
 * One-sided Smirnov survival P(D_n^+ >= x) by the Birnbaum–Tingey sum, in log space so that it
 * neither overflows nor underflows, up to n = 100,000 (asymptotic beyond).
 */
export function smirnovSf(n: number, x: number): number {
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  // For large n the sum needs ~n terms; the asymptotic exp(−(6nx+1)²/18n) is then within 0.5% of it.
  if (n > SMIRNOV_EXACT_MAX_N) return clip(Math.exp(-((6 * n * x + 1) ** 2) / (18 * n)));
  const last = Math.floor(n * (1 - x) + 1e-12);
  let logBinom = 0; // log C(n, j)
  let maxLog = Number.NEGATIVE_INFINITY;
  let sum = 0; // Σ exp(term − maxLog), rescaled whenever the maximum moves
  for (let j = 0; j <= last; j++) {
    if (j > 0) logBinom += Math.log((n - j + 1) / j);
    const a = 1 - x - j / n;
    const b = x + j / n;
    let term: number;
    if (a <= 0) term = n - j === 0 ? logBinom + (j - 1) * Math.log(b) : Number.NEGATIVE_INFINITY;
    else term = logBinom + (n - j) * Math.log(a) + (j - 1) * Math.log(b);
    if (term > maxLog) {
      sum = sum * Math.exp(maxLog - term) + 1;
      maxLog = term;
    } else {
      sum += Math.exp(term - maxLog);
      // The terms are unimodal in j: once past the peak and 1e-20 below it, the rest cannot matter.
      if (term < maxLog - 46) break;
    }
  }
  if (maxLog === Number.NEGATIVE_INFINITY) return 0;
  return clip(x * Math.exp(maxLog) * sum);
}

/** P(D_n <= d) by the Durbin matrix, computed as Marsaglia, Tsang and Wang do (H^n by squaring, rescaled). */
export function kolmogorovCdfDurbin(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const H = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1] as number;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r] as number;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c] as number;

  let P: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) P[i * m + i] = 1;
  let base: Float64Array = H;
  let pExp = 0;
  let baseExp = 0;
  let nn = n;
  while (nn > 0) {
    if (nn % 2 === 1) {
      P = matmul(P, base, m);
      pExp += baseExp;
    }
    base = matmul(base, base, m);
    baseExp *= 2;
    if (Math.abs(base[(k - 1) * m + (k - 1)] as number) > SCALE_UP) {
      for (let i = 0; i < base.length; i++) base[i] = (base[i] as number) * SCALE_DOWN;
      baseExp += SCALE_EXP;
    }
    nn = Math.floor(nn / 2);
  }
  let p = P[(k - 1) * m + (k - 1)] as number;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < SCALE_DOWN) {
      p *= SCALE_UP;
      pExp -= SCALE_EXP;
    }
  }
  return clip(p * 2 ** pExp);
}

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const x = a[i * m + l] as number;
      if (x === 0) continue;
      const bo = l * m;
      const oo = i * m;
      for (let j = 0; j < m; j++) out[oo + j] = (out[oo + j] as number) + x * (b[bo + j] as number);
    }
  }
  return out;
}

/** P(D_n <= x) by the Pelz–Good asymptotic expansion (four terms in 1/sqrt(n)). */
export function kolmogorovCdfPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -PI2 / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = PI2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI2) / 4;
  const k2c = (PI4 * (1 - 2 * z2)) / 16;
  const k3d = (PI6 * (5 - 30 * z2)) / 64;
  const k3c = (PI4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z4 * z4;
  const K = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  // Horner over odd m = 2k-1 of c_k q^(m^2): q^(m^2) / q^((m-2)^2) = q^(8k-8).
  for (let k = maxk; k >= 1; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qp = q ** (8 * k);
    K[0] = (K[0] as number) * qp + 1;
    K[1] = (K[1] as number) * qp + k1a + k1b * m2;
    K[2] = (K[2] as number) * qp + k2a + k2b * m2 + k2c * m4;
    K[3] = (K[3] as number) * qp + k3a + k3b * m2 + k3c * m4 + k3d * m6;
  }
  const div = [z, 6 * z4, 72 * z4 * z3, 6480 * z6 * z4];
  for (let i = 0; i < 4; i++) K[i] = ((K[i] as number) * q * SQRT2PI) / (div[i] as number);
  q = Math.exp(-PI2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const s3z = SQRT3 * z;
  for (let k = maxk; k >= 1; k--) {
    const k2 = k * k;
    const qk = q ** k2;
    const kpi = Math.PI * k;
    k2extra += k2 * qk;
    k3extra += (s3z + kpi) * (s3z - kpi) * k2 * qk;
  }
  K[2] = (K[2] as number) + (k2extra * PI2 * SQRT2PI) / (-36 * z3);
  K[3] = (K[3] as number) + (k3extra * PI2 * SQRT2PI) / (216 * z6);
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += (K[i] as number) / n ** (i / 2);
  return sum;
}

/** Survival function P(D_n >= x) of the two-sided one-sample KS statistic (scipy's `kstwo.sf`). */
export function kolmogorovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return Number.NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    const cdf = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    return clip(1 - cdf);
  }
  if (t >= n - 1) return clip(2 * (1 - x) ** n);
  if (x >= 0.5) return clip(2 * smirnovSf(n, x));
  const nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 4) return clip(1 - kolmogorovCdfDurbin(n, x));
    return clip(2 * smirnovSf(n, x));
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return clip(2 * smirnovSf(n, x));
  if (n <= 100_000 && n * x ** 1.5 <= 1.4) return clip(1 - kolmogorovCdfDurbin(n, x));
  return clip(1 - kolmogorovCdfPelzGood(n, x));
}
