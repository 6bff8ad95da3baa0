#!/usr/bin/env node
import { Command } from 'commander';
import { VERSION } from '../version.js';

type Registrar = (program: Command) => void;

/** Each top-level command's module, imported only when that command runs (start-up stays short). */
const COMMANDS: Record<string, () => Promise<Registrar>> = {
  models: async () => (await import('./commands/models.js')).modelsCommand,
  tokens: async () => (await import('./commands/tokens.js')).tokensCommand,
  serve: async () => (await import('./commands/serve.js')).serveCommands,
  demo: async () => (await import('./commands/serve.js')).serveCommands,
  drift: async () => (await import('./commands/drift.js')).driftCommand,
  experiments: async () => (await import('./commands/experiments.js')).experimentsCommand,
  deploy: async () => (await import('./commands/deploy.js')).deployCommand,
  deployments: async () => (await import('./commands/deploy.js')).deployCommand,
  features: async () => (await import('./commands/features.js')).featuresCommand,
  batch: async () => (await import('./commands/batch.js')).batchCommand,
  'grafana-dashboard': async () => (await import('./commands/grafana.js')).grafanaCommand,
  monitor: async () => (await import('./commands/monitor.js')).monitorCommand,
  alerts: async () => (await import('./commands/alerts.js')).alertsCommand,
};

const GLOBAL_WITH_VALUE = new Set(['--home', '--store', '--server', '--token']);

/** The command named on the command line (skipping global options and their values), if any. */
function commandName(argv: string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i] as string;
    if (GLOBAL_WITH_VALUE.has(a)) i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

const program = new Command()
  .name('berth')
  .description('Berth: put ONNX models into production and keep them healthy there.')
  .version(VERSION)
  .option('--home <dir>', 'state directory (env BERTH_HOME, default ./.berth)')
  .option('--store <uri>', 'metadata store URI (env BERTH_STORE, default sqlite://<home>/berth.db)')
  .option('--server <url>', 'act on a remote Berth server instead of local state (env BERTH_SERVER)')
  .option('--token <token>', 'API token for --server (env BERTH_TOKEN)')
  .showHelpAfterError('(run with --help for usage)');

const name = commandName(process.argv);
const loaders = name && COMMANDS[name] ? [COMMANDS[name]] : [...new Set(Object.values(COMMANDS))];
const registered = new Set<Registrar>();
for (const load of loaders) {
  const register = await load();
  if (registered.has(register)) continue;
  registered.add(register);
  register(program);
}

await program.parseAsync(process.argv);
