import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BerthError } from '../../src/errors.js';
import { assignVariant, type Experiment, type Experiments, openExperiments } from '../../src/experiments/index.js';
import { tempHome } from '../helpers.js';
import { BINARY_ARMS, BINARY_REF, CONTROL, TREATMENT, WELCH_REF } from '../stats/ab/fixtures.js';

let home: string;
let cleanup: () => Promise<void>;
let x: Experiments;

beforeEach(async () => {
  ({ home, cleanup } = await tempHome());
  x = await openExperiments({ home, reloadMs: 50, flushMs: 100 });
});
afterEach(async () => {
  await x.close();
  await cleanup();
});

const base = {
  name: 'checkout',
  model: 'ranker',
  variants: ['control=ranker:1', 'treatment=ranker:2'],
  unit: 'header:x-user-id',
  metric: 'binary' as const,
};

/** `count` unit ids that the experiment puts in `variant`. */
function unitsIn(e: Pick<Experiment, 'name' | 'variants'>, variant: string, count: number, prefix = 'u'): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) if (assignVariant(e, `${prefix}${i}`) === variant) out.push(`${prefix}${i}`);
  return out;
}

async function refused(p: Promise<unknown>): Promise<BerthError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(BerthError);
  return e as BerthError;
}

describe('creating experiments', () => {
  it('stores the experiment with its defaults, control first', async () => {
    const e = await x.create({ ...base, variants: ['treatment=ranker:2', 'control=ranker:1'], split: '30,70' });
    expect(e).toMatchObject({
      name: 'checkout',
      control: 'control',
      unit_header: 'x-user-id',
      alpha: 0.05,
      power: 0.8,
      mde: null,
      status: 'running',
      variants: [
        { name: 'control', model: 'ranker', version: 1, weight: 70 },
        { name: 'treatment', model: 'ranker', version: 2, weight: 30 },
      ],
    });
    expect(await x.list()).toEqual([e]);
    expect(await x.show('checkout')).toEqual(e);
  });

  it.each([
    [{ name: 'bad name!' }, 'name'],
    [{ metric: 'ratio' }, 'metric'],
    [{ unit: 'cookie:sid' }, 'unit'],
    [{ variants: ['control=ranker:1'] }, 'variant'],
    [{ variants: ['control=ranker', 'treatment=ranker:2'] }, 'variant'],
    [{ variants: ['a=ranker:1', 'a=ranker:2'] }, 'variant'],
    [{ split: '50,abc' }, 'split'],
    [{ split: '50,30,20' }, 'split'],
    [{ alpha: 1.5 }, 'alpha'],
    [{ power: 0.01 }, 'power'],
    [{ mde: 0 }, 'mde'],
    [{ mde: 2 }, 'mde'],
    [{ control: 'nobody' }, 'control'],
  ])('refuses %j naming the field %s', async (change, field) => {
    const e = await refused(x.create({ ...base, ...change } as typeof base));
    expect(e.status).toBe(400);
    expect(e.field).toBe(field);
  });

  it('refuses a duplicate name and a second running experiment on the same model', async () => {
    await x.create(base);
    expect((await refused(x.create(base))).status).toBe(409);
    expect((await refused(x.create({ ...base, name: 'other' }))).message).toMatch(/already has a running experiment, 'checkout'/);
    await x.stop('checkout');
    await x.create({ ...base, name: 'other' });
    expect((await refused(x.show('nope'))).status).toBe(404);
  });
});

describe('routing requests', () => {
  it('routes by the unit header to the variant version, sticky, and ignores other requests', async () => {
    const e = await x.create({ ...base, split: [50, 50] });
    const seen = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const r = x.route('ranker', { 'x-user-id': `user-${i % 50}` }, `req-${i}`);
      expect(r).toBeDefined();
      if (!r) continue;
      expect(r.version).toBe(r.variant === 'control' ? 1 : 2);
      expect(r.variant).toBe(assignVariant(e, `user-${i % 50}`));
      expect(seen.get(`user-${i % 50}`) ?? r.variant).toBe(r.variant);
      seen.set(`user-${i % 50}`, r.variant);
    }
    expect(x.route('ranker', {}, 'req-x')).toBeUndefined();
    expect(x.route('other-model', { 'x-user-id': 'user-1' })).toBeUndefined();
    // 50 distinct users exposed, however many requests they sent
    const report = await x.report('checkout');
    expect(report.variants.reduce((s, v) => s + v.n, 0)).toBe(50);
    await x.stop('checkout');
    expect(x.route('ranker', { 'x-user-id': 'user-1' })).toBeUndefined();
  });

  it('joins outcomes to every request id, however the writes were batched', async () => {
    await x.create({ ...base, metric: 'continuous' });
    // past the size that flushes at once (8192), then a remainder that the timer writes, then one
    // written by recordOutcomes' own flush
    for (let i = 0; i < 8300; i++) x.route('ranker', { 'x-user-id': `user-${i % 300}` }, `req-${i}`);
    await new Promise((r) => setTimeout(r, 250));
    for (let i = 8300; i < 8401; i++) x.route('ranker', { 'x-user-id': `user-${i % 300}` }, `req-${i}`);
    const outcomes = Array.from({ length: 8401 }, (_, i) => ({ request_id: `req-${i}`, value: 1 }));
    expect(await x.recordOutcomes('checkout', { outcomes })).toEqual({ accepted: 8401, unmatched: [] });
    const r = await x.report('checkout');
    expect(r.variants.reduce((s, v) => s + v.n, 0)).toBe(300);
    expect(r.variants.reduce((s, v) => s + v.n * v.mean, 0)).toBeCloseTo(8401, 9);
  });

  it('keeps the first unit of a request id sent twice, in one batch or across batches', async () => {
    await x.create({ ...base, metric: 'continuous' });
    // ids out of key order, so that the writes' sorting has something to reorder
    x.route('ranker', { 'x-user-id': 'zed' }, 'req-b');
    x.route('ranker', { 'x-user-id': 'amy' }, 'req-a');
    x.route('ranker', { 'x-user-id': 'bob' }, 'req-b');
    await x.flush();
    x.route('ranker', { 'x-user-id': 'bob' }, 'req-a');
    expect(await x.recordOutcomes('checkout', { outcomes: [{ request_id: 'req-a', value: 2 }, { request_id: 'req-b', value: 5 }] })).toEqual({ accepted: 2, unmatched: [] });
    const report = await x.report('checkout');
    expect(report.variants.reduce((s, v) => s + v.n, 0)).toBe(3);
    const e = await x.show('checkout');
    // amy got 2 and zed 5; bob, exposed, got nothing
    const sums = new Map(report.variants.map((v) => [v.name, v.n * v.mean]));
    const expected = new Map<string, number>();
    for (const [u, value] of [['amy', 2], ['zed', 5], ['bob', 0]] as const) {
      const v = assignVariant(e, u);
      expected.set(v, (expected.get(v) ?? 0) + value);
    }
    for (const [v, sum] of expected) expect(sums.get(v)).toBeCloseTo(sum, 9);
  });

  it('sees an experiment created by another process within the reload interval', async () => {
    const other = await openExperiments({ home });
    await other.create(base);
    await other.close();
    for (let i = 0; i < 40 && !x.route('ranker', { 'x-user-id': 'u' }); i++) await new Promise((r) => setTimeout(r, 25));
    expect(x.route('ranker', { 'x-user-id': 'u' })?.experiment).toBe('checkout');
  });
});

describe('outcomes and the report', () => {
  it('binary: a unit converts once (max of its outcomes); unexposed zeros count; matches scipy', async () => {
    const e = await x.create({ ...base, variants: ['control=ranker:1', 'treatment=ranker:2', 'variant_b=ranker:3'] });
    const outcomes: { unit_id?: string; request_id?: string; value: number | boolean }[] = [];
    for (const [variant, [n, successes]] of Object.entries(BINARY_ARMS)) {
      const units = unitsIn(e, variant, n);
      for (const [i, u] of units.entries()) {
        if (i < successes) outcomes.push({ unit_id: u, value: 1 }, { unit_id: u, value: i % 2 === 0 ? 1 : 0 });
        else if (i % 3 === 0) outcomes.push({ unit_id: u, value: false });
        else x.route('ranker', { 'x-user-id': u }, `r-${u}`); // exposed, never converts
      }
    }
    // converters report twice (1 then 1 or 0): each counts once; a third of the rest report 0, the others only exposed
    expect(await x.recordOutcomes('checkout', { outcomes })).toEqual({ accepted: outcomes.length, unmatched: [] });
    const r = await x.report('checkout');
    expect(r.variants.map((v) => [v.name, v.n, v.mean])).toEqual([
      ['control', 1000, 0.1],
      ['treatment', 980, 125 / 980],
      ['variant_b', 1010, 98 / 1010],
    ]);
    for (const c of r.comparisons) {
      const ref = BINARY_REF[c.variant as keyof typeof BINARY_REF];
      expect(c.test).toBe('two-proportion-z');
      expect(c.statistic).toBeCloseTo(ref.z, 10);
      expect(c.p_value).toBeCloseTo(ref.p, 10);
      expect(c.ci_low).toBeCloseTo(ref.lo, 10);
      expect(c.ci_high).toBeCloseTo(ref.hi, 10);
      expect(c.msprt_p_value).toBeGreaterThanOrEqual(c.p_value);
      expect(c.verdict).toBe('keep_running'); // no MDE configured: no sample size to reach
    }
    expect(r.variants[1]?.std).toBeCloseTo(BINARY_REF.treatment.std, 12);
    expect(r.srm_p_value).toBeCloseTo(0.7912718333805047, 10); // scipy.stats.chisquare([1000, 980, 1010])
  });

  it('continuous: a unit’s outcomes add up (sum); outcomes by request id join; matches scipy’s Welch test', async () => {
    const e = await x.create({ ...base, metric: 'continuous', split: '60,40', mde: 1 });
    const control = unitsIn(e, 'control', CONTROL.length);
    const treatment = unitsIn(e, 'treatment', TREATMENT.length);
    // each value arrives as two parts: one for the unit, one against a request it made
    const items: object[] = [];
    for (const [units, values] of [
      [control, CONTROL],
      [treatment, TREATMENT],
    ] as const) {
      for (const [i, u] of units.entries()) {
        x.route('ranker', { 'x-user-id': u }, `req-${u}`);
        const v = values[i] ?? 0;
        items.push({ unit_id: u, value: Math.round(v * 30) / 100 }, { request_id: `req-${u}`, value: v - Math.round(v * 30) / 100 });
      }
    }
    const res = await x.recordOutcomes('checkout', [...items, { request_id: 'never-seen', value: 3 }]);
    expect(res).toEqual({ accepted: items.length, unmatched: [items.length] });
    const r = await x.report('checkout');
    const [c] = r.comparisons;
    expect(r.variants[0]?.mean).toBeCloseTo(WELCH_REF.control.mean, 10);
    expect(r.variants[0]?.std).toBeCloseTo(WELCH_REF.control.std, 10);
    expect(c?.statistic).toBeCloseTo(WELCH_REF.treatment.t, 8);
    expect(c?.p_value).toBeCloseTo(WELCH_REF.treatment.p, 8);
    expect(c?.ci_low).toBeCloseTo(WELCH_REF.treatment.lo, 8);
    expect(r.srm_p_value).toBeCloseTo(0.8001253795101058, 10); // scipy chisquare([40, 25], f_exp=[39, 26])
    expect(c?.verdict).toBe('keep_running');
    expect(c?.remaining_per_arm).toBeGreaterThan(0);
  });

  it('declares a clear winner through the always-valid p-value, which never rises again', async () => {
    const e = await x.create({ ...base, mde: 0.05 });
    const items = [
      ...unitsIn(e, 'control', 2000).map((u, i) => ({ unit_id: u, value: i % 10 === 0 ? 1 : 0 })),
      ...unitsIn(e, 'treatment', 2000).map((u, i) => ({ unit_id: u, value: i % 5 === 0 ? 1 : 0 })),
    ];
    await x.recordOutcomes('checkout', items);
    const first = (await x.report('checkout')).comparisons[0];
    expect(first?.verdict).toBe('treatment_better');
    expect(first?.msprt_p_value).toBeLessThan(0.05);
    // more units without conversions in the treatment arm: the naive p-value rises, the sequential one may not
    await x.recordOutcomes('checkout', unitsIn(e, 'treatment', 400, 'late').map((u) => ({ unit_id: u, value: 0 })));
    const later = (await x.report('checkout')).comparisons[0];
    expect(later?.p_value).toBeGreaterThan(first?.p_value ?? 1);
    expect(later?.msprt_p_value).toBeLessThanOrEqual(first?.msprt_p_value ?? 0);
  });

  it('says what it waits for while an arm is empty, and refuses bad outcomes naming the item', async () => {
    await x.create({ ...base, metric: 'binary' });
    const r = await x.report('checkout');
    expect(r.comparisons).toEqual([]);
    expect(r.note).toMatch(/waiting for data: variant 'control' has 0/);
    for (const [body, field] of [
      [{ outcomes: [{ unit_id: 'a', value: 1 }, { unit_id: 'b', value: 2 }] }, 'outcomes[1].value'],
      [{ outcomes: [{ unit_id: 'a' }] }, 'outcomes[0].value'],
      [{ outcomes: [{ unit_id: 'a', request_id: 'r', value: 1 }] }, 'outcomes[0]'],
      [{ outcomes: [{ unit_id: '', value: 1 }] }, 'outcomes[0].unit_id'],
      [{ items: [] }, 'outcomes'],
    ] as const) {
      const err = await refused(x.recordOutcomes('checkout', body));
      expect([err.status, err.field]).toEqual([400, field]);
    }
    // all or nothing: the good first item of the refused batch did not count
    expect((await x.report('checkout')).variants.every((v) => v.n === 0)).toBe(true);
  });

  it('after stop, takes late outcomes only for units already in', async () => {
    const e = await x.create(base);
    const [u] = unitsIn(e, 'treatment', 1);
    await x.recordOutcomes('checkout', [{ unit_id: u, value: 0 }]);
    await x.stop('checkout');
    const res = await x.recordOutcomes('checkout', [{ unit_id: u, value: 1 }, { unit_id: 'newcomer', value: 1 }]);
    expect(res).toEqual({ accepted: 1, unmatched: [1] });
    const r = await x.report('checkout');
    expect(r.status).toBe('stopped');
    expect(r.variants.find((v) => v.name === 'treatment')).toMatchObject({ n: 1, mean: 1 });
  });
});

describe('degenerate data', () => {
  it('keeps outcomes and reports a note when no test is defined yet (constant values that differ)', async () => {
    const e = await x.create({ ...base, metric: 'continuous' });
    const items = [
      ...unitsIn(e, 'control', 3).map((u) => ({ unit_id: u, value: 2 })),
      ...unitsIn(e, 'treatment', 3).map((u) => ({ unit_id: u, value: 5 })),
    ];
    expect(await x.recordOutcomes('checkout', items)).toEqual({ accepted: 6, unmatched: [] });
    const r = await x.report('checkout');
    expect(r.variants.map((v) => [v.n, v.mean, v.std])).toEqual([
      [3, 2, 0],
      [3, 5, 0],
    ]);
    expect(r.comparisons).toEqual([]);
    expect(r.note).toMatch(/^waiting for data: Welch's t-test is undefined/);
  });
});
