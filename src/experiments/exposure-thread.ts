/**
 * The experiments' exposure writer thread: applies the batches the main thread posts, each in one
 * transaction on its own connection, so SQLite's B-tree work, commits and WAL checkpoints are paid
 * off the thread that serves requests. Started by ExposureWriter (exposure-writer.ts); never imported
 * by anything else.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqlite } from '../sqlite.js';
import { ExposureApplier, type ExposureThreadInit, type FromExposureThread, type ToExposureThread } from './exposures.js';
import { tuneForExposures } from './schema.js';

const port = parentPort;
if (!port) throw new Error('experiments/exposure-thread.js runs inside a worker thread started by ExposureWriter');
// the main connection created the schema before it started this thread
const db = tuneForExposures(openSqlite((workerData as ExposureThreadInit).path));
const applier = new ExposureApplier(db);

port.on('message', (m: ToExposureThread) => {
  switch (m.op) {
    case 'expose': {
      let answer: FromExposureThread = { seq: m.seq };
      try {
        applier.apply(m.batch);
      } catch (e) {
        answer = { seq: m.seq, error: e instanceof Error ? e.message : String(e) };
      }
      port.postMessage(answer);
      return;
    }
    case 'exit':
      db.close();
      process.exit(0);
  }
});
