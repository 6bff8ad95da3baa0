import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

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
