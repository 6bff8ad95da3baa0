import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isRole } from '../auth/index.js';
import { errors } from '../errors.js';
import type { Management, RegisterInput } from './service.js';

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');
const registerBody = z
  .object({
    artifact: base64.min(1),
    alias: z.string().optional(),
    description: z.string().optional(),
    tags: z.record(z.string(), z.string()).optional(),
    metrics: z.record(z.string(), z.number()).optional(),
    lineage: z.record(z.string(), z.string()).optional(),
    source: z.string().optional(),
    reference: z
      .object({ data: base64.min(1), format: z.enum(['csv', 'parquet']), label_column: z.string().optional() })
      .strict()
      .optional(),
  })
  .strict();
const aliasBody = z.object({ version: z.number().int().positive() }).strict();
const tokenBody = z.object({ role: z.string(), name: z.string().optional() }).strict();

/** Parses with a zod schema; a failure is a 400 naming the field. */
function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : what;
  throw errors.badRequest(`${field}: ${issue?.message ?? 'invalid'}`, field);
}

/** Parses `k=v` strings (repeated query parameters) into a record. */
function pairs(v: string | string[] | undefined, field: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of v === undefined ? [] : Array.isArray(v) ? v : [v]) {
    const i = item.indexOf('=');
    if (i <= 0) throw errors.badRequest(`${field}: expected key=value, got '${item}'`, field);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

/** A version number from a path segment. */
function versionParam(s: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(s)) throw errors.badRequest(`version must be a positive integer, got '${s}'`, 'version');
  return Number(s);
}

type Q = Record<string, string | string[] | undefined>;
const actorOf = (req: FastifyRequest) => req.berthToken?.name ?? null;
const read = { config: { role: 'read' as const } };
const deploy = { config: { role: 'deploy' as const } };
const admin = { config: { role: 'admin' as const } };

/** The management REST API under /api/v1, one route per Management operation. */
export async function managementPlugin(app: FastifyInstance, opts: { management: Management; uploadLimit: number }) {
  const m = opts.management;
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: opts.uploadLimit }, (_r, body, done) =>
    done(null, body),
  );

  app.get('/api/v1/models', read, async () => ({ models: await m.listModels() }));
  app.get<{ Params: { name: string } }>('/api/v1/models/:name', read, async (req) => m.showModel(req.params.name));
  app.get<{ Params: { name: string; version: string } }>('/api/v1/models/:name/versions/:version', read, async (req) =>
    m.showVersion(`${req.params.name}:${versionParam(req.params.version)}`),
  );
  app.get<{ Params: { name: string; alias: string } }>('/api/v1/models/:name/aliases/:alias', read, async (req) =>
    m.showVersion(`${req.params.name}@${req.params.alias}`),
  );
  app.get<{ Params: { name: string }; Querystring: Q }>('/api/v1/models/:name/alias-history', read, async (req) => {
    const alias = typeof req.query.alias === 'string' ? req.query.alias : undefined;
    return { events: await m.aliasHistory(req.params.name, alias) };
  });

  app.post<{ Params: { name: string }; Querystring: Q }>(
    '/api/v1/models/:name/versions',
    { ...deploy, bodyLimit: opts.uploadLimit },
    async (req, reply) => {
      let input: RegisterInput;
      let tmp: string | undefined;
      try {
        if (Buffer.isBuffer(req.body)) {
          const q = req.query;
          const one = (k: string) => (typeof q[k] === 'string' ? (q[k] as string) : undefined);
          const metrics: Record<string, number> = {};
          for (const [k, v] of Object.entries(pairs(q.metric, 'metric'))) {
            const n = Number(v);
            if (v.trim() === '' || !Number.isFinite(n)) throw errors.badRequest(`metric '${k}': '${v}' is not a number`, 'metric');
            metrics[k] = n;
          }
          input = {
            model: new Uint8Array(req.body),
            alias: one('alias'),
            description: one('description'),
            source: one('source'),
            tags: pairs(q.tag, 'tag'),
            metrics,
          };
        } else {
          const b = parse(registerBody, req.body, 'body');
          input = {
            model: new Uint8Array(Buffer.from(b.artifact, 'base64')),
            alias: b.alias,
            description: b.description,
            tags: b.tags,
            metrics: b.metrics,
            lineage: b.lineage,
            source: b.source,
          };
          if (b.reference) {
            tmp = await mkdtemp(join(tmpdir(), 'berth-ref-'));
            const path = join(tmp, `reference.${b.reference.format}`);
            await writeFile(path, Buffer.from(b.reference.data, 'base64'));
            input.reference = { path, labelColumn: b.reference.label_column };
          }
        }
        const view = await m.register(req.params.name, input, actorOf(req));
        return reply.code(201).send(view);
      } finally {
        if (tmp) await rm(tmp, { recursive: true, force: true });
      }
    },
  );

  app.delete<{ Params: { name: string; version: string } }>(
    '/api/v1/models/:name/versions/:version',
    admin,
    async (req, reply) => {
      await m.deleteVersion(req.params.name, versionParam(req.params.version));
      return reply.code(204).send();
    },
  );

  app.put<{ Params: { name: string; alias: string } }>('/api/v1/models/:name/aliases/:alias', deploy, async (req) => {
    const b = parse(aliasBody, req.body, 'body');
    return m.setAlias(req.params.name, req.params.alias, b.version, actorOf(req));
  });
  app.delete<{ Params: { name: string; alias: string } }>('/api/v1/models/:name/aliases/:alias', deploy, async (req) =>
    m.deleteAlias(req.params.name, req.params.alias, actorOf(req)),
  );
  app.post<{ Params: { name: string; alias: string } }>(
    '/api/v1/models/:name/aliases/:alias/rollback',
    deploy,
    async (req) => m.rollback(req.params.name, req.params.alias, actorOf(req)),
  );

  app.post('/api/v1/tokens', admin, async (req, reply) => {
    const b = parse(tokenBody, req.body ?? {}, 'body');
    if (!isRole(b.role)) throw errors.badRequest(`role must be one of read, deploy, admin (got '${b.role}')`, 'role');
    return reply.code(201).send(await m.createToken(b.role, b.name));
  });
  app.get('/api/v1/tokens', admin, async () => ({ tokens: await m.listTokens() }));
  app.delete<{ Params: { id: string } }>('/api/v1/tokens/:id', admin, async (req) => m.revokeToken(req.params.id));
}
