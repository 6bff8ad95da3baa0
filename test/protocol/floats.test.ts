import { describe, expect, it } from 'vitest';
import { float16BitsToFloat32, float32ToFloat16Bits } from '../../src/onnx/index.js';
import { formatFloat16, formatFloat32, formatFloat64 } from '../../src/protocol/index.js';

/** Fewest significant digits of any decimal that reads back as the float32 `v` (brute force). */
function minDigits(v: number, readsBack: (t: number) => boolean): number {
  for (let p = 1; p <= 17; p++) {
    const [m, e] = v.toExponential(p - 1).split('e') as [string, string];
    const sign = m.startsWith('-') ? '-' : '';
    const mantissa = BigInt(m.replace(/[-.]/g, ''));
    for (const d of [mantissa - 1n, mantissa, mantissa + 1n]) {
      if (readsBack(Number(`${sign}${d}e${Number(e) - (p - 1)}`))) return p;
    }
  }
  throw new Error(`no decimal reads back as ${v}`);
}

const significant = (text: string) => Number(text).toExponential().split('e')[0]!.replace(/[-.]/g, '').length;

function randomFloat32s(n: number): number[] {
  const view = new DataView(new ArrayBuffer(4));
  let seed = 2024;
  const out: number[] = [];
  while (out.length < n) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    view.setUint32(0, seed);
    const v = view.getFloat32(0);
    if (Number.isFinite(v)) out.push(v);
  }
  return out;
}

describe('formatFloat32', () => {
  const edges = [
    1.401298464324817e-45, // smallest subnormal
    1.1754942106924411e-38, // largest subnormal
    1.1754943508222875e-38, // smallest normal
    3.4028234663852886e38, // largest finite
    16777216,
    16777218,
    0.1,
    1 / 3,
    123456.789,
    9.0078125,
    1e-7,
    1e21,
  ].map(Math.fround);

  it('is a JSON number that reads back as the same float32, with the fewest digits', () => {
    const wrong: string[] = [];
    for (const v of [...edges, ...edges.map((x) => -x), ...randomFloat32s(20_000)]) {
      const text = formatFloat32(v);
      if (Math.fround(JSON.parse(text)) !== v) wrong.push(`${v} -> ${text} reads back differently`);
      else if (significant(text) !== minDigits(v, (t) => Math.fround(t) === v)) wrong.push(`${v} -> ${text} is not shortest`);
      else if (text !== String(Number(text))) wrong.push(`${v} -> ${text} is not laid out like Number#toString`);
    }
    expect(wrong).toEqual([]);
  });

  it('prints typical values plainly', () => {
    expect([0.1, 0.25, -2.5, 1 / 3, 1e-45, 3.4028234663852886e38].map((v) => formatFloat32(Math.fround(v)))).toEqual([
      '0.1',
      '0.25',
      '-2.5',
      '0.33333334',
      '1e-45',
      '3.4028235e+38',
    ]);
    expect([0, -0, Number.NaN, Infinity, -Infinity].map(formatFloat32)).toEqual(['0', '-0', '"NaN"', '"Infinity"', '"-Infinity"']);
  });
});

describe('formatFloat16', () => {
  it('prints every half as the shortest decimal that converts back to its bits', () => {
    const wrong: string[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const v = float16BitsToFloat32(bits);
      const text = formatFloat16(bits);
      if (!Number.isFinite(v)) {
        const word = Number.isNaN(v) ? '"NaN"' : v > 0 ? '"Infinity"' : '"-Infinity"';
        if (text !== word) wrong.push(`${bits} -> ${text}`);
        continue;
      }
      if (float32ToFloat16Bits(JSON.parse(text)) !== bits) wrong.push(`${bits} -> ${text} reads back differently`);
      if (v === 0) continue;
      // Shortest, except that the exact text wins a tie in length (65504, not 65500).
      const shortest = significant(text) === minDigits(v, (t) => float32ToFloat16Bits(t) === bits);
      const exact = String(v);
      if (!shortest && !(text === exact && exact.length <= 6)) wrong.push(`${bits} -> ${text} is not shortest`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('formatFloat64', () => {
  it('uses Number#toString except for -0 and the non-finite values', () => {
    expect([0.1, 5e-324, 1e21, -0, Number.NaN, -Infinity].map(formatFloat64)).toEqual([
      '0.1',
      '5e-324',
      '1e+21',
      '-0',
      '"NaN"',
      '"-Infinity"',
    ]);
  });
});
