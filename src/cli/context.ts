import type { Command } from 'commander';
import type { Management } from '../api/index.js';
import { type BerthCore, openCore } from '../core.js';
import { fail } from './output.js';
import { RemoteManagement } from './remote.js';

export interface GlobalOptions {
  home?: string;
  store?: string;
  server?: string;
  token?: string;
  json?: boolean;
}

/** Options of a command merged with the program's global ones. */
export function optionsOf<T>(cmd: Command): T & GlobalOptions {
  return cmd.optsWithGlobals<T & GlobalOptions>();
}

/** Opens the local core for a command and closes it after. */
export async function withCore<T>(g: GlobalOptions, fn: (core: BerthCore) => Promise<T>): Promise<T> {
  const core = await openCore({ home: g.home, storeUri: g.store });
  try {
    return await fn(core);
  } finally {
    await core.close();
  }
}

/**
 * Runs a management action against a remote server (`--server`, or BERTH_SERVER) or the local
 * state; errors are reported once, with a non-zero exit code.
 */
export async function runManagement(g: GlobalOptions, fn: (m: Management) => Promise<void>): Promise<void> {
  try {
    const server = g.server ?? process.env.BERTH_SERVER;
    if (server) {
      await fn(new RemoteManagement(server, g.token ?? process.env.BERTH_TOKEN));
      return;
    }
    await withCore(g, (core) => fn(core.management));
  } catch (e) {
    fail(e, Boolean(g.json));
  }
}
