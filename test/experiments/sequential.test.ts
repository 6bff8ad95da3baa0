import { describe, expect, it } from 'vitest';
import { Experiments, SqliteExperimentStore } from '../../src/experiments/index.js';
import { mulberry32 as rng } from '../random.js';

describe('looking at live reports', () => {
  it('A/A through the server path: peeking after every batch keeps the always-valid false-positive rate at alpha, the naive p-value does not', async () => {
    const x = await Experiments.open(new SqliteExperimentStore(':memory:'));
    const runs = 200;
    const looks = 12;
    const batch = 60;
    const random = rng(20261126);
    let sequential = 0;
    let naive = 0;
    try {
      for (let r = 0; r < runs; r++) {
        const name = `aa-${r}`;
        await x.create({ name, model: `m${r}`, variants: ['control=m:1', 'treatment=m:2'], unit: 'header:u', metric: 'binary' });
        let naiveHit = false;
        let last = 1;
        for (let look = 0; look < looks; look++) {
          const outcomes = Array.from({ length: batch }, (_, i) => ({ unit_id: `${look}-${i}`, value: random() < 0.2 ? 1 : 0 }));
          await x.recordOutcomes(name, outcomes);
          const c = (await x.report(name)).comparisons[0];
          if (c === undefined) continue;
          if (c.p_value < 0.05) naiveHit = true;
          expect(c.msprt_p_value).toBeLessThanOrEqual(last);
          last = c.msprt_p_value;
        }
        if (last < 0.05) sequential++;
        if (naiveHit) naive++;
      }
    } finally {
      await x.close();
    }
    const se = Math.sqrt((0.05 * 0.95) / runs);
    expect(sequential / runs).toBeLessThanOrEqual(0.05 + 2 * se);
    expect(naive / runs).toBeGreaterThan(0.05 + 2 * se);
  }, 30_000);
});
