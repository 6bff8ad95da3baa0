/**
 * The prediction log's writer thread: inserts the pages the main thread posts (one transaction per
 * day file per message), opens and rolls over the day files, and so pays for SQLite's B-tree work,
 * fsyncs and WAL checkpoints off the thread that serves requests. Started by LogWriter (writer.ts);
 * never imported by anything else.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { DayFiles, type FromWriter, INSERT_FEEDBACK, INSERT_PAGE, type PageMessage, type ToWriter, type WriterInit } from './schema.js';

const port = parentPort;
if (!port) throw new Error('monitor/logging/writer-thread.js runs inside a worker thread started by LogWriter');
// today's file and yesterday's (for calls that straddle midnight)
const files = new DayFiles((workerData as WriterInit).dir, 2);

/** Blobs arrive as Uint8Arrays (structured cloning drops the Buffer class); a Buffer view over the same memory binds as a BLOB. */
const bindable = (v: unknown): unknown => (v instanceof Uint8Array && !Buffer.isBuffer(v) ? Buffer.from(v.buffer, v.byteOffset, v.byteLength) : v);

/** Inserts pages, one transaction per day file; returns the indexes of pages whose file could not be written, and why. */
function writePages(pages: PageMessage[]): { failed: number[]; error?: string } {
  const byFile = new Map<string, number[]>();
  pages.forEach((p, i) => {
    const list = byFile.get(p.file);
    if (list === undefined) byFile.set(p.file, [i]);
    else list.push(i);
  });
  const failed: number[] = [];
  let error: string | undefined;
  for (const [file, indexes] of byFile) {
    try {
      const db = files.get(file);
      const insert = db.prepare(INSERT_PAGE);
      db.transaction(() => {
        for (const i of indexes) {
          const p = pages[i] as PageMessage;
          insert.run(p.model, p.version, ...p.columns.map(bindable));
        }
      })();
    } catch (e) {
      failed.push(...indexes);
      error = `${file}: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return { failed, error };
}

function handle(m: ToWriter): FromWriter | undefined {
  switch (m.op) {
    case 'pages': {
      const { failed, error } = writePages(m.pages);
      return error === undefined ? { seq: m.seq } : { seq: m.seq, error, failed };
    }
    case 'feedback':
      try {
        const db = files.get(m.file);
        const insert = db.prepare(INSERT_FEEDBACK);
        db.transaction(() => {
          for (const r of m.rows) insert.run(r.time, r.requestId, r.row, r.model, r.version, r.prediction, r.label, r.predictedAt);
        })();
        return { seq: m.seq };
      } catch (e) {
        return { seq: m.seq, error: `${m.file}: ${e instanceof Error ? e.message : String(e)}` };
      }
    case 'prune':
      // day files past the retention: closed here first, so no connection writes into an unlinked file
      try {
        for (const f of m.files) {
          files.drop(f);
          for (const suffix of ['', '-wal', '-shm']) rmSync(join(files.dir, f + suffix), { force: true });
        }
        return { seq: m.seq };
      } catch (e) {
        return { seq: m.seq, error: e instanceof Error ? e.message : String(e) };
      }
    case 'crash':
      // LogWriter.crash(): the thread ends here, as a native failure would end it. Not by throwing: an
      // uncaught error ends the thread only after the messages already delivered with this one ran.
      return process.exit(70);
    case 'exit':
      // every write posted before 'exit' has been answered: messages are handled in order
      files.close();
      process.exit(0);
  }
}

port.on('message', (m: ToWriter) => {
  const answer = handle(m);
  if (answer !== undefined) port.postMessage(answer);
});
