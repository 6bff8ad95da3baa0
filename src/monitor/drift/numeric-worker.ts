import { parentPort } from 'node:worker_threads';
import { analyzeNumeric, type NumericJob } from './numeric-pass.js';

// Runs analyzeNumeric on columns sent by analyzeAll and hands the sorted buffers back.
parentPort?.on('message', (msg: { id: number; job: NumericJob }) => {
  try {
    const outcome = analyzeNumeric(msg.job);
    parentPort?.postMessage({ id: msg.id, outcome }, [outcome.ref.buffer as ArrayBuffer, outcome.cur.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort?.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) });
  }
});
