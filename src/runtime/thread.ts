import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** What `new Worker(entry, { eval })` is given to start a worker thread's module. */
export interface WorkerEntry {
  entry: string | URL;
  eval: boolean;
}

/**
 * How to start the worker module `relative` (e.g. './writer-thread.js') beside the module at
 * `moduleUrl` (pass `import.meta.url`): the compiled .js file in dist/, or, when running from the
 * TypeScript sources (tests, benches under tsx), the .ts file through tsx's require hook, because
 * Node 20's ESM loader hooks do not reach worker threads.
 */
export function workerEntry(moduleUrl: string, relative: string): WorkerEntry {
  if (!moduleUrl.endsWith('.ts')) return { entry: new URL(relative, moduleUrl), eval: false };
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  const source = fileURLToPath(new URL(relative.replace(/\.js$/, '.ts'), moduleUrl));
  return { entry: `require(${JSON.stringify(tsx)}).register();require(${JSON.stringify(source)});`, eval: true };
}

/** What a background writer thread reports back to its owner. */
export interface ThreadEvents<M> {
  message(m: M): void;
  exit(code: number): void;
  error(e: Error): void;
}

/**
 * Starts the worker module `relative` beside `moduleUrl` (see workerEntry) as an unreferenced
 * background thread (its owner refs it while work is in flight, so an idle one never keeps the
 * process alive) and wires its events; `exited` resolves once `exit` has run.
 */
export function startThread<M>(moduleUrl: string, relative: string, workerData: unknown, on: ThreadEvents<M>): { worker: Worker; exited: Promise<void> } {
  const { entry, eval: isEval } = workerEntry(moduleUrl, relative);
  const worker = new Worker(entry, { eval: isEval, workerData, execArgv: [] });
  worker.unref();
  const exited = new Promise<void>((resolve) => {
    worker.on('exit', (code) => {
      on.exit(code);
      resolve();
    });
  });
  worker.on('message', (m: M) => on.message(m));
  worker.on('error', (e) => on.error(e));
  return { worker, exited };
}
