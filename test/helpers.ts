import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { type BerthCore, openCore } from '../src/core.js';
import { type RunningServer, type ServerOptions, startServer } from '../src/server.js';

export interface TestServer {
  core: BerthCore;
  server: RunningServer;
  url: string;
  home: string;
  close(): Promise<void>;
}

/** A fresh BERTH_HOME in the temp directory. */
export async function tempHome(): Promise<{ home: string; cleanup(): Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), 'berth-test-'));
  return { home, cleanup: () => rm(home, { recursive: true, force: true }) };
}

/** A real server on a random loopback port over a fresh home; `setup` runs before it starts. */
export async function startTestServer(
  setup: (core: BerthCore) => Promise<void> = async () => {},
  options: ServerOptions = {},
): Promise<TestServer> {
  const { home, cleanup } = await tempHome();
  const core = await openCore({ home });
  await setup(core);
  const server = await startServer(core, {
    port: 0,
    logger: pino({ level: 'silent' }),
    defaultMetrics: false,
    ...options,
  });
  // wait until start-up loading is over
  for (let i = 0; i < 100 && (await fetch(`${server.url}/v2/health/ready`)).status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    core,
    server,
    url: server.url,
    home,
    close: async () => {
      await server.close();
      await core.close();
      await cleanup();
    },
  };
}

export interface HttpResult {
  status: number;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests inspect arbitrary JSON bodies
  json: any;
  headers: Headers;
}

/** Sends a request and reads the whole answer; `body` objects are sent as JSON. */
export async function http(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    if (typeof body === 'string' || body instanceof Uint8Array) init.body = body;
    else {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    if (typeof body === 'string') (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** The built CLI (`npm test` builds first). */
export const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `berth` binary over `home`, asynchronously (tests that also run a server in this
 * process must not block its event loop). BERTH_SERVER/BERTH_TOKEN are cleared unless args set them.
 */
export function runBerth(home: string, args: string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, '--home', home, ...args],
      { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, BERTH_SERVER: '', BERTH_TOKEN: '' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
