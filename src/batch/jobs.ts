/** Batch jobs run by the server: an in-memory registry, one job at a time, each recorded in SQLite. */
import { openSqlite } from '../sqlite.js';
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { BerthCore } from '../core.js';
import { errors } from '../errors.js';
import { BatchInterrupted, type BatchOptions, type BatchProgress, prepareBatch, runBatch } from './run.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted';

/** One job as the API reports it. */
export interface BatchJob {
  id: string;
  status: JobStatus;
  model: string;
  version: number;
  input: string;
  output: string;
  batchSize: number;
  columns: string[];
  rowsDone: number;
  rowsTotal: number | null;
  rowsWritten: number;
  errors: number;
  errorFile: string | null;
  rowsPerSec: number;
  /** Why the job failed or stopped. */
  message: string | null;
  createdAt: string;
  finishedAt: string | null;
}

interface Row {
  id: string;
  body: string;
}

const PERSIST_EVERY_MS = 1000;

/** Runs submitted jobs in order in this process and keeps each job's record durable in SQLite. */
export class BatchJobs {
  private readonly db: Database.Database;
  private readonly jobs = new Map<string, BatchJob>();
  private readonly queue: { job: BatchJob; opts: BatchOptions }[] = [];
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;

  /** Opens the record at `path`; jobs a previous process left queued or running become 'interrupted'. */
  constructor(
    private readonly core: Pick<BerthCore, 'registry' | 'runtime'>,
    path: string,
  ) {
    this.db = openSqlite(path);
    this.db.exec('CREATE TABLE IF NOT EXISTS batch_jobs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, body TEXT NOT NULL)');
    for (const r of this.db.prepare('SELECT id, body FROM batch_jobs').all() as Row[]) {
      const job = JSON.parse(r.body) as BatchJob;
      if (job.status === 'queued' || job.status === 'running') {
        job.status = 'interrupted';
        job.message = 'the server stopped before the job finished; submit it again with resume: true to continue';
        this.save(job);
      }
    }
  }

  /** Checks the request (400/404 before anything runs), then queues it; returns the new job. */
  async submit(opts: Omit<BatchOptions, 'signal' | 'onProgress'>): Promise<BatchJob> {
    const p = await prepareBatch(this.core, opts);
    const job: BatchJob = {
      id: randomUUID(),
      status: 'queued',
      model: p.mv.model,
      version: p.mv.version,
      input: p.input,
      output: p.output,
      batchSize: p.batchSize,
      columns: p.plan.columns,
      rowsDone: 0,
      rowsTotal: null,
      rowsWritten: 0,
      errors: 0,
      errorFile: null,
      rowsPerSec: 0,
      message: null,
      createdAt: new Date().toISOString(),
      finishedAt: null,
    };
    this.jobs.set(job.id, job);
    this.save(job);
    const submitted = { ...job };
    // pin the version resolved now, so that an alias moving later does not change the job
    this.queue.push({ job, opts: { ...opts, model: `${p.mv.model}:${p.mv.version}` } });
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
    return submitted;
  }

  /** A job by id, from memory or the durable record; NOT_FOUND otherwise. */
  get(id: string): BatchJob {
    const live = this.jobs.get(id);
    if (live) return { ...live };
    const r = this.db.prepare('SELECT id, body FROM batch_jobs WHERE id = ?').get(id) as Row | undefined;
    if (!r) throw errors.notFound(`batch job '${id}' not found`);
    return JSON.parse(r.body) as BatchJob;
  }

  /** Every recorded job, newest first. */
  list(): BatchJob[] {
    const rows = this.db.prepare('SELECT id, body FROM batch_jobs ORDER BY created_at DESC').all() as Row[];
    return rows.map((r) => this.jobs.get(r.id) ?? (JSON.parse(r.body) as BatchJob)).map((j) => ({ ...j }));
  }

  /** Stops the running job at its next chunk (it stays resumable), marks queued ones interrupted, closes the record. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.running;
    this.db.close();
  }

  private save(job: BatchJob): void {
    this.db.prepare('INSERT OR REPLACE INTO batch_jobs (id, created_at, body) VALUES (?, ?, ?)').run(job.id, job.createdAt, JSON.stringify(job));
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      const { job, opts } = next;
      if (this.abort.signal.aborted) {
        this.finish(job, 'interrupted', 'the server stopped before the job started');
        continue;
      }
      job.status = 'running';
      this.save(job);
      let lastSave = Date.now();
      const onProgress = (p: BatchProgress): void => {
        job.rowsDone = p.rowsDone;
        job.rowsTotal = p.rowsTotal;
        job.errors = p.errors;
        job.rowsPerSec = p.rowsPerSec;
        if (Date.now() - lastSave >= PERSIST_EVERY_MS) {
          lastSave = Date.now();
          this.save(job);
        }
      };
      try {
        const r = await runBatch(this.core, { ...opts, signal: this.abort.signal, onProgress });
        job.rowsDone = r.rowsRead;
        job.rowsWritten = r.rowsWritten;
        job.errors = r.errors;
        job.errorFile = r.errorFile;
        job.rowsPerSec = r.rowsPerSec;
        this.finish(job, 'succeeded', null);
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        this.finish(job, e instanceof BatchInterrupted ? 'interrupted' : 'failed', message);
      }
    }
  }

  private finish(job: BatchJob, status: JobStatus, message: string | null): void {
    job.status = status;
    job.message = message;
    job.finishedAt = new Date().toISOString();
    this.save(job);
  }
}
