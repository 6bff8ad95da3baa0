import { type Command, InvalidArgumentError } from 'commander';
import { errors } from '../../errors.js';
import type { VersionView } from '../../api/index.js';
import { readServingConfigFile, validateServingTags } from '../../serving/index.js';
import { optionsOf, runManagement } from '../context.js';
import { formatBytes, formatShape, printJson, printTable } from '../output.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/** Parses repeated `k=v` options into a record; a malformed one is a usage error naming the flag. */
function keyValues(items: string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const i = item.indexOf('=');
    if (i <= 0) throw errors.badRequest(`${flag} expects key=value, got '${item}'`, flag);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

function positiveInt(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new InvalidArgumentError(`expected a version number (1, 2, …), got '${value}'`);
  return Number(value);
}

/** Prints one version in full, for humans. */
function printVersion(v: VersionView): void {
  const lines = [
    `${v.name}:${v.version}${v.aliases.length ? `  (${v.aliases.map((a) => `@${a}`).join(', ')})` : ''}`,
    `  sha256:      ${v.sha256}`,
    `  size:        ${formatBytes(v.size_bytes)}`,
    `  created:     ${v.created_at}`,
  ];
  if (v.description) lines.push(`  description: ${v.description}`);
  if (v.source) lines.push(`  source:      ${v.source}`);
  lines.push('  inputs:');
  for (const t of v.inputs) lines.push(`    ${t.name}  ${t.datatype}  ${formatShape(t.shape)}`);
  lines.push('  outputs:');
  for (const t of v.outputs) lines.push(`    ${t.name}  ${t.datatype}  ${formatShape(t.shape)}`);
  const kv = (title: string, rec: Record<string, string | number>) => {
    const entries = Object.entries(rec);
    if (entries.length) lines.push(`  ${title}:`, ...entries.map(([k, val]) => `    ${k} = ${val}`));
  };
  kv('tags', v.tags);
  kv('metrics', v.metrics);
  kv('lineage', v.lineage);
  if (v.reference) {
    const r = v.reference;
    lines.push(
      `  reference:   ${r.format}, ${r.rows ?? '?'} rows, columns ${r.columns.join(', ')}` +
        (r.label_column ? `, label ${r.label_column}` : ''),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `berth models …`: the registry's commands. */
export function modelsCommand(program: Command): void {
  const models = program.command('models').description('register, inspect and alias model versions');

  models
    .command('register')
    .description('register an ONNX file as the next version of NAME (prints the new version)')
    .argument('<name>', 'model name')
    .argument('<file>', 'ONNX model file')
    .option('--alias <alias>', 'point this alias (e.g. champion) at the new version')
    .option('--description <text>', 'what this version is')
    .option('--tag <key=value>', 'a tag (repeatable)', collect, [])
    .option('--metric <key=value>', 'a numeric metric (repeatable)', collect, [])
    .option('--reference <file>', 'reference dataset (CSV or Parquet) that monitoring compares live traffic with')
    .option('--label-column <column>', 'the reference dataset column holding the label')
    .option('--config <file>', 'serving config (YAML/JSON: dynamic_batching, cache), stored as the version\'s tags')
    .option('--json', 'print JSON')
    .action(async (name: string, file: string, _o, cmd: Command) => {
      const o = optionsOf<{
        alias?: string;
        description?: string;
        tag: string[];
        metric: string[];
        reference?: string;
        labelColumn?: string;
        config?: string;
      }>(cmd);
      await runManagement(o, async (m) => {
        if (o.labelColumn && !o.reference) throw errors.badRequest('--label-column needs --reference', '--label-column');
        const metrics: Record<string, number> = {};
        for (const [k, v] of Object.entries(keyValues(o.metric, '--metric'))) {
          const n = Number(v);
          if (v.trim() === '' || !Number.isFinite(n)) throw errors.badRequest(`--metric ${k}: '${v}' is not a number`, '--metric');
          metrics[k] = n;
        }
        // --tag wins over the config file for the same key
        const tags = { ...(o.config ? await readServingConfigFile(o.config) : {}), ...keyValues(o.tag, '--tag') };
        validateServingTags(tags);
        const v = await m.register(name, {
          model: { path: file },
          alias: o.alias,
          description: o.description,
          tags,
          metrics,
          source: file,
          reference: o.reference ? { path: o.reference, labelColumn: o.labelColumn } : undefined,
        });
        if (o.json) return printJson(v);
        process.stdout.write(`Registered ${v.name} version ${v.version}\n`);
        printVersion(v);
      });
    });

  models
    .command('list')
    .description('list registered models')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = optionsOf<object>(cmd);
      await runManagement(o, async (m) => {
        const list = await m.listModels();
        if (o.json) return printJson(list);
        if (list.length === 0) return void process.stdout.write('No models registered yet. Try: berth models register NAME FILE.onnx\n');
        printTable(
          ['NAME', 'LATEST', 'ALIASES', 'UPDATED', 'DESCRIPTION'],
          list.map((x) => [
            x.name,
            String(x.latest_version ?? '-'),
            Object.entries(x.aliases)
              .map(([a, n]) => `${a}=${n}`)
              .join(',') || '-',
            x.updated_at,
            x.description,
          ]),
        );
      });
    });

  models
    .command('show')
    .description('show a model (NAME), a version (NAME:VERSION) or what an alias names (NAME@ALIAS)')
    .argument('<ref>', 'NAME, NAME:VERSION or NAME@ALIAS')
    .option('--json', 'print JSON')
    .action(async (ref: string, _o, cmd: Command) => {
      const o = optionsOf<object>(cmd);
      await runManagement(o, async (m) => {
        if (ref.includes(':') || ref.includes('@')) {
          const v = await m.showVersion(ref);
          return o.json ? printJson(v) : printVersion(v);
        }
        const model = await m.showModel(ref);
        if (o.json) return printJson(model);
        process.stdout.write(`${model.name}${model.description ? ` — ${model.description}` : ''}\n`);
        const aliases = Object.entries(model.aliases);
        if (aliases.length) process.stdout.write(`aliases: ${aliases.map(([a, n]) => `${a}=${n}`).join(', ')}\n`);
        printTable(
          ['VERSION', 'ALIASES', 'SHA256', 'SIZE', 'CREATED', 'DESCRIPTION'],
          model.versions.map((v) => [
            String(v.version),
            v.aliases.join(',') || '-',
            v.sha256.slice(0, 12),
            formatBytes(v.size_bytes),
            v.created_at,
            v.description,
          ]),
        );
      });
    });

  models
    .command('alias')
    .description('point ALIAS of model NAME at VERSION')
    .argument('<name>', 'model name')
    .argument('<alias>', 'alias, e.g. champion')
    .argument('<version>', 'version number', positiveInt)
    .option('--json', 'print JSON')
    .action(async (name: string, alias: string, version: number, _o, cmd: Command) => {
      const o = optionsOf<object>(cmd);
      await runManagement(o, async (m) => {
        const e = await m.setAlias(name, alias, version);
        if (o.json) return printJson(e);
        process.stdout.write(
          `${name}@${alias} -> version ${e.version}${e.previous_version ? ` (was ${e.previous_version})` : ''}\n`,
        );
      });
    });

  models
    .command('rollback')
    .description('move an alias back to the version it pointed to before')
    .argument('<name>', 'model name')
    .option('--alias <alias>', 'the alias to roll back', 'champion')
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      const o = optionsOf<{ alias: string }>(cmd);
      await runManagement(o, async (m) => {
        const e = await m.rollback(name, o.alias);
        if (o.json) return printJson(e);
        process.stdout.write(`${name}@${o.alias} rolled back: version ${e.previous_version} -> ${e.version}\n`);
      });
    });

  models
    .command('history')
    .description('show the alias history of a model, newest first')
    .argument('<name>', 'model name')
    .option('--alias <alias>', 'only this alias')
    .option('--json', 'print JSON')
    .action(async (name: string, _o, cmd: Command) => {
      const o = optionsOf<{ alias?: string }>(cmd);
      await runManagement(o, async (m) => {
        const events = await m.aliasHistory(name, o.alias);
        if (o.json) return printJson(events);
        printTable(
          ['AT', 'ALIAS', 'ACTION', 'FROM', 'TO', 'BY'],
          events.map((e) => [e.at, e.alias, e.action, String(e.previous_version ?? '-'), String(e.version ?? '-'), e.actor ?? '-']),
        );
      });
    });

  models
    .command('delete')
    .description('delete a version (refused while an alias points at it)')
    .argument('<ref>', 'NAME:VERSION')
    .option('--json', 'print JSON')
    .action(async (ref: string, _o, cmd: Command) => {
      const o = optionsOf<object>(cmd);
      await runManagement(o, async (m) => {
        const match = /^(.+):([1-9][0-9]*)$/.exec(ref);
        if (!match) throw errors.badRequest(`expected NAME:VERSION, got '${ref}'`, 'ref');
        const [, name, version] = match as unknown as [string, string, string];
        await m.deleteVersion(name, Number(version));
        if (o.json) return printJson({ deleted: { name, version: Number(version) } });
        process.stdout.write(`Deleted ${name}:${version}\n`);
      });
    });
}
