import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import pino from 'pino';
import type { BerthCore } from '../../core.js';
import { openCore } from '../../core.js';
import { buildWeatherDemo } from '../../demo/index.js';
import { parseWindow } from '../../monitor/index.js';
import { defaultWorkerCount } from '../../runtime/index.js';
import { startServer } from '../../server.js';
import { type GlobalOptions, optionsOf } from '../context.js';
import { fail } from '../output.js';

interface ServeFlags {
  host: string;
  port: number;
  bodyLimit: number;
  logLevel: string;
  batching: boolean;
  maxBatchSize: number;
  workers: number;
  grpcPort?: number;
  batchRoot?: string;
  logSampleRate: number;
  predictionLog: boolean;
  driftWindow?: number;
  logRetention?: number;
}

function parseRate(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`expected a rate between 0 and 1, got '${value}'`);
  return n;
}

function parseRetention(value: string): number {
  if (value.trim() === '0') return 0;
  const ms = parseWindow(value);
  if (ms === undefined || ms < 86_400_000) throw new InvalidArgumentError(`expected 0 or a duration of at least 1d, like 30d or 720h, got '${value}'`);
  return ms;
}

function parseDuration(value: string): number {
  const ms = parseWindow(value);
  if (ms === undefined) throw new InvalidArgumentError(`expected a duration like 1h, 15m or 30s, got '${value}'`);
  return ms;
}

/** Parses `16MiB`, `512k`, `1048576` into bytes. */
export function parseSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`expected a size like 16MiB or 1048576, got '${value}'`);
  const unit = (m[2] ?? 'b').toLowerCase()[0] as 'b' | 'k' | 'm' | 'g';
  const bytes = Math.floor(Number(m[1]) * { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit]);
  if (bytes < 1) throw new InvalidArgumentError(`size must be at least 1 byte, got '${value}'`);
  return bytes;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 1024) throw new InvalidArgumentError(`expected a worker count 0-1024, got '${value}'`);
  return n;
}

/** Default worker threads: BERTH_WORKERS, else one per core but one (none below 3 cores). */
function defaultWorkers(): number {
  const env = process.env.BERTH_WORKERS;
  return env !== undefined && env !== '' ? parseWorkers(env) : defaultWorkerCount();
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port 0-65535, got '${value}'`);
  return n;
}

const serveOptions = (cmd: Command) =>
  cmd
    .option('--host <host>', 'address to bind (beyond loopback, API tokens are required)', '127.0.0.1')
    .option('--port <port>', 'HTTP port (0 = any free port)', parsePort, 8000)
    .option('--grpc-port <port>', 'also serve the protocol over gRPC on this port (off when not given)', parsePort)
    .option('--body-limit <size>', 'largest inference request body', parseSize, 16 * 1024 * 1024)
    .option('--log-level <level>', 'pino log level (debug logs every request)', process.env.BERTH_LOG_LEVEL ?? 'info')
    .option('--max-batch-size <rows>', 'most rows joined into one model run', parsePositive, 64)
    .option('--no-batching', 'run every request on its own')
    .option('--workers <n>', 'worker threads running the models (0 = on the main thread; default: BERTH_WORKERS, else cores - 1, 0 below 3 cores)', parseWorkers, defaultWorkers())
    .option('--batch-root <dir>', 'keep the files of batch jobs submitted over HTTP inside this directory')
    .option('--log-sample-rate <r>', 'share of inference calls logged and monitored, 0-1 (0 turns both off)', parseRate, 1)
    .option('--no-prediction-log', 'do not write the prediction log under <home>/predictions (live drift stays on)')
    .option('--drift-window <duration>', 'live drift and accuracy window, sliding by a twelfth of it (default 1h)', parseDuration)
    .option('--log-retention <duration>', 'delete prediction log day files once their day ended this long ago (default 30d; 0 keeps them)', parseRetention);

/** Runs the server until SIGINT/SIGTERM, then closes it cleanly. */
async function serve(core: BerthCore, o: ServeFlags, after?: (url: string) => void): Promise<void> {
  const logger = pino({ level: o.logLevel, base: { service: 'berth' } });
  const server = await startServer(core, {
    host: o.host,
    port: o.port,
    bodyLimit: o.bodyLimit,
    logger,
    batching: o.batching ? { maxBatchSize: o.maxBatchSize, maxQueueDelayUs: 0 } : false,
    workers: o.workers,
    batchRoot: o.batchRoot,
    monitoring: {
      sampleRate: o.logSampleRate,
      predictionLog: o.predictionLog,
      ...(o.driftWindow !== undefined ? { windowMs: o.driftWindow } : {}),
      ...(o.logRetention !== undefined ? { retentionMs: o.logRetention } : {}),
    },
    ...(o.grpcPort !== undefined ? { grpcPort: o.grpcPort } : {}),
  });
  after?.(server.url);
  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down');
    await server.close();
    await core.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

/** `berth serve` and `berth demo`. */
export function serveCommands(program: Command): void {
  serveOptions(program.command('serve').description('serve registered models over the Open Inference Protocol v2 (REST)')).action(
    async (_o, cmd: Command) => {
      const o = optionsOf<ServeFlags>(cmd);
      try {
        const core = await openCore({ home: o.home, storeUri: o.store });
        await serve(core, o);
      } catch (e) {
        fail(e, false);
      }
    },
  );

  serveOptions(
    program
      .command('demo')
      .description('build the Seattle-weather demo model, register it as "weather" (alias champion) and serve it')
      .option('--no-serve', 'build and register only'),
  ).action(async (_o, cmd: Command) => {
    const o = optionsOf<ServeFlags & GlobalOptions & { serve: boolean }>(cmd);
    try {
      const core = await openCore({ home: o.home, storeUri: o.store });
      const demo = await buildWeatherDemo(join(core.config.home, 'demo'));
      const sha = createHash('sha256')
        .update(await readFile(demo.modelPath))
        .digest('hex');
      const existing = (await core.registry.getModel('weather'))
        ? (await core.registry.listVersions('weather')).find((v) => v.sha256 === sha)
        : undefined;
      const mv =
        existing ??
        (await core.management.register('weather', {
          model: { path: demo.modelPath },
          alias: 'champion',
          description: 'Seattle weather classifier (softmax regression on 2012-2014), demo',
          source: demo.modelPath,
          metrics: { train_accuracy: demo.trainAccuracy, accuracy_2015: demo.liveAccuracy },
          tags: { dataset: 'vega-datasets/seattle-weather.csv', features: demo.featureNames.join(',') },
          lineage: { training_data: '2012-2014', trainer: 'berth demo (src/demo)' },
          reference: { path: demo.referencePath, labelColumn: 'weather' },
        }));
      process.stdout.write(
        `Demo model weather:${mv.version} ${existing ? 'already registered' : 'registered'} ` +
          `(train accuracy ${demo.trainAccuracy.toFixed(3)}, 2015 accuracy ${demo.liveAccuracy.toFixed(3)}).\n`,
      );
      if (!o.serve) return await core.close();
      await serve(core, o, (url) => {
        process.stdout.write(
          `\nServing on ${url}. Try:\n\n  curl -s ${url}/v2/models/weather/infer -H 'content-type: application/json' \\\n` +
            `    -d '{"inputs":[{"name":"features","shape":[2,4],"datatype":"FP32","data":[[0,12.8,5,4.7],[10.9,10.6,2.8,4.5]]}]}'\n\n`,
        );
      });
    } catch (e) {
      fail(e, false);
    }
  });
}
