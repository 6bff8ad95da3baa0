import { isAbsolute, join, resolve } from 'node:path';

/** Where Berth keeps its state, and which stores it uses. Every field has a default that works. */
export interface BerthConfig {
  /** State directory: `BERTH_HOME`, default `./.berth`. */
  home: string;
  /** Metadata store URI: `BERTH_STORE`, default `sqlite://<home>/berth.db`. */
  storeUri: string;
  /** Artifact directory, default `<home>/artifacts`. */
  artifactsDir: string;
}

/** Resolves the configuration from explicit options, then the environment, then defaults. */
export function resolveConfig(
  opts: { home?: string; storeUri?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): BerthConfig {
  const homeRaw = opts.home ?? env.BERTH_HOME ?? '.berth';
  const home = isAbsolute(homeRaw) ? homeRaw : resolve(homeRaw);
  return {
    home,
    storeUri: opts.storeUri ?? env.BERTH_STORE ?? `sqlite://${join(home, 'berth.db')}`,
    artifactsDir: join(home, 'artifacts'),
  };
}
