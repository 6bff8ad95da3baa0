import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCore } from '../../src/core.js';
import { assignVariant, type Experiment, Experiments, SqliteExperimentStore } from '../../src/experiments/index.js';
import { startServer } from '../../src/server.js';
import { identityModel } from '../fixtures/models.js';
import { http, tempHome } from '../helpers.js';
import { mulberry32 as rng } from '../random.js';

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempHome());
});
afterEach(async () => cleanup());

const silent = pino({ level: 'silent' });
const open = async (flushMs?: number) => {
  const store = new SqliteExperimentStore(join(home, 'experiments.db'), { logger: silent });
  return { store, x: await Experiments.open(store, { flushMs }) };
};
const spec = (metric: 'binary' | 'continuous') => ({
  name: 'checkout',
  model: 'ranker',
  variants: ['control=ranker:1', 'treatment=ranker:2', 'small=ranker:3'],
  split: '45,45,10',
  unit: 'header:x-user-id',
  metric,
});
const tick = () => new Promise((r) => setImmediate(r));

/** Units per variant straight from exp_units, through a connection of the test's own. */
function unitsInDb(file: string): Map<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT variant, count(*) AS n FROM exp_units GROUP BY variant').all() as { variant: string; n: number }[];
    return new Map(rows.map((r) => [r.variant, r.n]));
  } finally {
    db.close();
  }
}

describe('exposures written on the writer thread', () => {
  it('counts every unit exactly once while exposures from two processes interleave with outcome batches and reports', async () => {
    // two services over one file, as two server processes would be: each has its main connection and
    // a writer thread, so units new to the experiment race between four connections
    const a = await open(5);
    const b = await open(5);
    const e = (await a.x.create(spec('continuous'))) as Experiment;
    await b.x.refresh();
    const random = rng(7);
    // unit ids and request ids with multi-byte characters and separators, which the batches must carry intact
    const unit = (i: number) => (i % 7 === 0 ? `ü-${i}\u0000é` : i % 11 === 0 ? `😀${i}` : `user-${i}`);
    const members = new Set<string>();
    const totals = new Map<string, number>();
    const unitOfRequest = new Map<string, string>();
    let reports = 0;
    for (let round = 0; round < 30; round++) {
      const x = round % 2 === 0 ? a.x : b.x;
      const other = round % 2 === 0 ? b.x : a.x;
      // request ids of earlier rounds: every round ends flushed, so the other process can join them
      const earlier = [...unitOfRequest.keys()].filter(() => random() < 0.02).slice(0, 40);
      for (let i = 0; i < 400; i++) {
        const u = unit(Math.floor(random() * 3000));
        const requestId = `r${round}-${i}${i % 5 === 0 ? '\n\u0000' : ''}`;
        expect(x.route('ranker', { 'x-user-id': u }, requestId)?.variant).toBe(assignVariant(e, u));
        members.add(u);
        unitOfRequest.set(requestId, u);
        // now and then let the timer hand a batch to the writer thread while the next calls queue
        if (i % 50 === 49) await tick();
      }
      // outcomes on the other process's main connection, while this one's batches are in flight: for
      // units new to the experiment (some of which this process exposes at the same time, below), for
      // exposed units, and by request id
      const items: ({ unit_id: string } | { request_id: string })[] = [];
      for (let i = 0; i < 60; i++) items.push({ unit_id: unit(3000 + Math.floor(random() * 600)) });
      for (let i = 0; i < 40; i++) items.push({ unit_id: unit(Math.floor(random() * 3000)) });
      for (const request_id of earlier) items.push({ request_id });
      const outcomes = items.map((item, i) => ({ ...item, value: (i % 5) + 1 }));
      const posted = other.recordOutcomes('checkout', { outcomes });
      await tick();
      for (let i = 0; i < 100; i++) {
        const u = unit(3000 + Math.floor(random() * 600));
        x.route('ranker', { 'x-user-id': u }, `late${round}-${i}`);
        members.add(u);
      }
      const flushed = x.flush();
      expect(await posted).toEqual({ accepted: outcomes.length, unmatched: [] });
      await flushed;
      for (const o of outcomes) {
        const u = 'unit_id' in o ? o.unit_id : (unitOfRequest.get(o.request_id) as string);
        members.add(u);
        const v = assignVariant(e, u);
        totals.set(v, (totals.get(v) ?? 0) + o.value);
      }
      if (round % 5 === 4) {
        const r = await x.report('checkout');
        reports++;
        expect(r.variants.reduce((n, v) => n + v.n, 0)).toBeGreaterThan(0);
      }
    }
    await a.x.flush();
    await b.x.flush();
    const expected = new Map<string, number>();
    for (const u of members) expected.set(assignVariant(e, u), (expected.get(assignVariant(e, u)) ?? 0) + 1);
    const report = await b.x.report('checkout');
    expect(reports).toBe(6);
    expect(new Map(report.variants.map((v) => [v.name, v.n]))).toEqual(expected);
    expect(unitsInDb(join(home, 'experiments.db'))).toEqual(expected);
    for (const v of report.variants) expect(v.n * v.mean).toBeCloseTo(totals.get(v.name) ?? 0, 6);
    expect([a.store.lostExposures, b.store.lostExposures]).toEqual([0, 0]);
    await a.x.close();
    await b.x.close();
  });

  it('loses nothing when the writer thread dies with batches in flight: a new one takes them', async () => {
    const { store, x } = await open();
    const e = (await x.create(spec('binary'))) as Experiment;
    const members = new Set<string>();
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 3000; i++) {
        const u = `u${round * 1000 + i}`;
        x.route('ranker', { 'x-user-id': u }, `req-${round}-${i}`);
        members.add(u);
      }
      const flushed = x.flush();
      // at once: the thread dies before it answers (the first time before it even started)
      await store.exposureWriter?.crash();
      await flushed;
    }
    expect(store.exposureWriter?.starts).toBeGreaterThanOrEqual(5);
    expect(store.lostExposures).toBe(0);
    const expected = new Map<string, number>();
    for (const u of members) expected.set(assignVariant(e, u), (expected.get(assignVariant(e, u)) ?? 0) + 1);
    expect(new Map((await x.report('checkout')).variants.map((v) => [v.name, v.n]))).toEqual(expected);
    // every request id of every round maps to its unit
    const outcomes = Array.from({ length: 4 }, (_, r) => ({ request_id: `req-${r}-2999`, value: 1 }));
    expect(await x.recordOutcomes('checkout', { outcomes })).toEqual({ accepted: 4, unmatched: [] });
    await x.close();
  });

  it('keeps the exposures of a server that restarts right after serving them (close writes them)', async () => {
    const start = async () => {
      const core = await openCore({ home });
      const server = await startServer(core, { port: 0, logger: pino({ level: 'silent' }), defaultMetrics: false, monitoring: false });
      const close = async () => {
        await server.close();
        await core.close();
      };
      return { core, server, close };
    };
    let s = await start();
    await s.core.registry.register('ranker', identityModel('float32', ['batch', 'n']), { alias: 'champion' });
    await s.core.registry.register('ranker', identityModel('float32', ['batch', 'n']));
    const created = await http('POST', `${s.server.url}/api/v1/experiments`, { ...spec('binary'), variants: ['control=ranker:1', 'treatment=ranker:2'], split: undefined });
    expect(created.status, created.text).toBe(201);
    const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] };
    const requestIds: string[] = [];
    const users = new Set<string>();
    await Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let i = 0; i < 25; i++) {
          const user = `user-${(c * 25 + i) % 150}`;
          const r = await http('POST', `${s.server.url}/v2/models/ranker/infer`, body, { 'x-user-id': user });
          expect(r.status, r.text).toBe(200);
          requestIds.push(r.headers.get('x-request-id') as string);
          users.add(user);
        }
      }),
    );
    // at once, inside the 100 ms the last exposures wait for their batch
    await s.close();
    s = await start();
    try {
      const report = await http('GET', `${s.server.url}/api/v1/experiments/checkout/report`);
      expect(report.status, report.text).toBe(200);
      expect(report.json.variants.reduce((n: number, v: { n: number }) => n + v.n, 0)).toBe(users.size);
      const outcomes = requestIds.map((id) => ({ request_id: id, value: 1 }));
      const posted = await http('POST', `${s.server.url}/api/v1/experiments/checkout/outcomes`, { outcomes });
      expect(posted.json).toEqual({ accepted: 200, unmatched: [] });
    } finally {
      await s.close();
    }
  });
});
