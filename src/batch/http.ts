/** The batch job API: `POST /api/v1/batch-jobs` (role deploy) and `GET /api/v1/batch-jobs/{id}` (role read). */
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { BerthCore } from '../core.js';
import { errors } from '../errors.js';
import { type BatchJob, BatchJobs } from './jobs.js';

export interface BatchJobsPluginOptions {
  core: Pick<BerthCore, 'registry' | 'runtime' | 'config'>;
  /** The durable job record (default `<BERTH_HOME>/batch-jobs.db`). */
  dbPath?: string;
  /**
   * When set, job inputs and outputs resolve against this directory and must stay inside it, so a
   * deploy token cannot read or write elsewhere on the server's disk. Unset: any path the server can reach.
   */
  root?: string;
}

/** A job path, resolved against `root` and kept inside it when there is one. */
function confine(path: string, root: string | undefined, field: string): string {
  if (root === undefined) return path;
  const base = resolve(root);
  const full = resolve(base, path);
  const rel = relative(base, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
    throw errors.badRequest(`'${field}' must be a file inside the batch directory ${base}`, field);
  }
  return full;
}

const FIELDS = new Set(['model', 'input', 'output', 'batch_size', 'columns', 'resume']);

function str(b: Record<string, unknown>, key: string): string {
  const v = b[key];
  if (typeof v !== 'string' || v === '') throw errors.badRequest(`'${key}' must be a non-empty string`, key);
  return v;
}

function parseBody(raw: unknown): { model: string; input: string; output: string; batchSize?: number; columns?: string[]; resume: boolean } {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw errors.badRequest('request body must be a JSON object', 'body');
  const b = raw as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!FIELDS.has(k)) throw errors.badRequest(`unknown field '${k}' (expected: ${[...FIELDS].join(', ')})`, k);
  }
  const out: ReturnType<typeof parseBody> = { model: str(b, 'model'), input: str(b, 'input'), output: str(b, 'output'), resume: false };
  if (b['batch_size'] !== undefined) {
    const n = b['batch_size'];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw errors.badRequest("'batch_size' must be a positive integer", 'batch_size');
    out.batchSize = n;
  }
  if (b['columns'] !== undefined) {
    const c = b['columns'];
    if (!Array.isArray(c) || c.length === 0 || !c.every((x) => typeof x === 'string' && x !== '')) {
      throw errors.badRequest("'columns' must be a non-empty array of column names", 'columns');
    }
    out.columns = c as string[];
  }
  if (b['resume'] !== undefined) {
    if (typeof b['resume'] !== 'boolean') throw errors.badRequest("'resume' must be true or false", 'resume');
    out.resume = b['resume'];
  }
  return out;
}

/** The API's snake_case view of a job. */
export function jobView(j: BatchJob): Record<string, unknown> {
  return {
    id: j.id,
    status: j.status,
    model: j.model,
    version: j.version,
    input: j.input,
    output: j.output,
    batch_size: j.batchSize,
    columns: j.columns,
    rows_done: j.rowsDone,
    rows_total: j.rowsTotal,
    rows_written: j.rowsWritten,
    errors: j.errors,
    error_file: j.errorFile,
    rows_per_sec: Math.round(j.rowsPerSec),
    message: j.message,
    created_at: j.createdAt,
    finished_at: j.finishedAt,
  };
}

/** Registers the batch job routes; jobs run in this process, one at a time, and stop with the server. */
export async function batchJobsPlugin(app: FastifyInstance, opts: BatchJobsPluginOptions): Promise<void> {
  const jobs = new BatchJobs(opts.core, opts.dbPath ?? join(opts.core.config.home, 'batch-jobs.db'));
  app.addHook('onClose', async () => jobs.close());

  app.post('/api/v1/batch-jobs', { config: { role: 'deploy' } }, async (req, reply) => {
    const b = parseBody(req.body);
    const job = await jobs.submit({ ...b, input: confine(b.input, opts.root, 'input'), output: confine(b.output, opts.root, 'output') });
    return reply.code(202).header('location', `/api/v1/batch-jobs/${job.id}`).send(jobView(job));
  });
  app.get('/api/v1/batch-jobs', { config: { role: 'read' } }, async () => ({ jobs: jobs.list().map(jobView) }));
  app.get<{ Params: { id: string } }>('/api/v1/batch-jobs/:id', { config: { role: 'read' } }, async (req) => jobView(jobs.get(req.params.id)));
}
