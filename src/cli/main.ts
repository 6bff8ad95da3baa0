#!/usr/bin/env node
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { driftCommand } from './commands/drift.js';
import { experimentsCommand } from './commands/experiments.js';
import { featuresCommand } from './commands/features.js';
import { modelsCommand } from './commands/models.js';
import { serveCommands } from './commands/serve.js';
import { tokensCommand } from './commands/tokens.js';

const program = new Command()
  .name('berth')
  .description('Berth: put ONNX models into production and keep them healthy there.')
  .version(VERSION)
  .option('--home <dir>', 'state directory (env BERTH_HOME, default ./.berth)')
  .option('--store <uri>', 'metadata store URI (env BERTH_STORE, default sqlite://<home>/berth.db)')
  .option('--server <url>', 'act on a remote Berth server instead of local state (env BERTH_SERVER)')
  .option('--token <token>', 'API token for --server (env BERTH_TOKEN)')
  .showHelpAfterError('(run with --help for usage)');

modelsCommand(program);
tokensCommand(program);
serveCommands(program);
driftCommand(program);
experimentsCommand(program);
featuresCommand(program);

await program.parseAsync(process.argv);
