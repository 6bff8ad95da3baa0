// npm run bench -- experiments [--requests N] [--runs K]: the per-request cost of the experiments routing
// hook (hash assignment, and the batched SQLite writes of exposures and request ids), against a
// request for a model with no experiment, and the time of a report as units grow (it reads one row
// per arm, so it should not grow).
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assignVariant, openExperiments } from '../src/experiments/index.js';
import { median, table } from './lib.js';

function argOf(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback;
}

const nsPer = (start: bigint, n: number): number => Number(process.hrtime.bigint() - start) / n;

/** Prints ns per request of the routing hook and ms per report, medians over runs. */
export async function experimentsBench(args: string[]): Promise<void> {
  const requests = argOf(args, '--requests', 200_000);
  const runs = argOf(args, '--runs', 7);
  const home = await mkdtemp(join(tmpdir(), 'berth-bench-exp-'));
  const x = await openExperiments({ home });
  try {
    const e = await x.create({ name: 'bench', model: 'm', variants: ['control=m:1', 'treatment=m:2'], unit: 'header:x-user-id', metric: 'binary' });
    const users = 20_000;
    const headers = Array.from({ length: users }, (_, i) => ({ 'x-user-id': `user-${i}`, accept: 'application/json' }));
    const times: Record<string, number[]> = { none: [], murmur: [], sha: [], route: [], report0: [], reportN: [] };
    let sink = 0;
    let seq = 0;
    for (let r = 0; r < runs; r++) {
      let t = process.hrtime.bigint();
      for (let i = 0; i < requests; i++) if (x.route('other-model', headers[i % users] ?? {}, `r${seq++}`)) sink++;
      times.none?.push(nsPer(t, requests));
      t = process.hrtime.bigint();
      for (let i = 0; i < requests; i++) if (assignVariant(e, `user-${i % users}`) === 'control') sink++;
      times.murmur?.push(nsPer(t, requests));
      t = process.hrtime.bigint();
      for (let i = 0; i < requests; i++) {
        if (createHash('sha256').update(`bench\0user-${i % users}`).digest().readUIntBE(0, 6) < 2 ** 47) sink++;
      }
      times.sha?.push(nsPer(t, requests));
      t = process.hrtime.bigint();
      for (let i = 0; i < requests; i++) if (x.route('m', headers[i % users] ?? {}, `r${seq++}`)) sink++;
      await x.flush();
      times.route?.push(nsPer(t, requests));
    }
    // report time with few units, then after a million more units have outcomes
    const time = async (key: string) => {
      for (let r = 0; r < runs; r++) {
        const t = process.hrtime.bigint();
        await x.report('bench');
        times[key]?.push(nsPer(t, 1) / 1e6);
      }
    };
    await time('report0');
    const units = argOf(args, '--units', 1_000_000);
    for (let done = 0; done < units; done += 50_000) {
      await x.recordOutcomes('bench', Array.from({ length: 50_000 }, (_, i) => ({ unit_id: `o${done + i}`, value: (done + i) % 9 === 0 ? 1 : 0 })));
    }
    await time('reportN');
    const base = median(times.none ?? []);
    const ns = (k: string) => median(times[k] ?? []);
    process.stdout.write(
      `experiments routing hook: ${requests} requests x ${runs} runs over ${users} users (sink ${sink % 7})\n` +
        table(
          ['case', 'median', 'ratio vs no experiment'],
          [
            ['route(): model without an experiment', `${ns('none').toFixed(0)} ns/req`, '1.00'],
            ['assignVariant (murmur3) alone', `${ns('murmur').toFixed(0)} ns/req`, (ns('murmur') / base).toFixed(2)],
            ['SHA-256 of the same text (alternative)', `${ns('sha').toFixed(0)} ns/req`, (ns('sha') / base).toFixed(2)],
            ['route(): in an experiment, writes included', `${ns('route').toFixed(0)} ns/req`, (ns('route') / base).toFixed(2)],
          ],
        ) +
        '\n' +
        table(
          ['report', 'median ms'],
          [
            [`${(await x.report('bench')).variants.reduce((s, v) => s + v.n, 0) - units} units`, ns('report0').toFixed(2)],
            [`+ ${units} units with outcomes`, ns('reportN').toFixed(2)],
          ],
        ),
    );
  } finally {
    await x.close();
    await rm(home, { recursive: true, force: true });
  }
}
