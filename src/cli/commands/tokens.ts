import type { Command } from 'commander';
import { isRole } from '../../auth/index.js';
import { errors } from '../../errors.js';
import { optionsOf, runManagement } from '../context.js';
import { printJson, printTable } from '../output.js';

/** `berth tokens …`: API tokens with roles read, deploy, admin. */
export function tokensCommand(program: Command): void {
  const tokens = program.command('tokens').description('create, list and revoke API tokens');

  tokens
    .command('create')
    .description('create a token (its secret is printed once, only a hash is stored)')
    .requiredOption('--role <role>', 'read (inference, metadata), deploy (aliases, deployments) or admin (tokens, deletes)')
    .option('--name <name>', 'a name to tell the token apart')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = optionsOf<{ role: string; name?: string }>(cmd);
      await runManagement(o, async (m) => {
        if (!isRole(o.role)) throw errors.badRequest(`--role must be read, deploy or admin (got '${o.role}')`, '--role');
        const t = await m.createToken(o.role, o.name);
        if (o.json) return printJson(t);
        process.stdout.write(
          `${t.token}\n\nToken '${t.name}' (id ${t.id}, role ${t.role}) created. ` +
            'Store the secret above now: it is not shown again.\n',
        );
      });
    });

  tokens
    .command('list')
    .description('list tokens (never their secrets)')
    .option('--json', 'print JSON')
    .action(async (_o, cmd: Command) => {
      const o = optionsOf<object>(cmd);
      await runManagement(o, async (m) => {
        const list = await m.listTokens();
        if (o.json) return printJson(list);
        printTable(
          ['ID', 'NAME', 'ROLE', 'PREFIX', 'CREATED', 'REVOKED'],
          list.map((t) => [t.id, t.name, t.role, `${t.prefix}…`, t.created_at, t.revoked_at ?? '-']),
        );
      });
    });

  tokens
    .command('revoke')
    .description('revoke a token by id')
    .argument('<id>', 'token id (from tokens list)')
    .option('--json', 'print JSON')
    .action(async (id: string, _o, cmd: Command) => {
      const o = optionsOf<object>(cmd);
      await runManagement(o, async (m) => {
        const t = await m.revokeToken(id);
        if (o.json) return printJson(t);
        process.stdout.write(`Revoked token ${t.id} (${t.name})\n`);
      });
    });
}
