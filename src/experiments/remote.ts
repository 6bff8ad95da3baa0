import { BerthError, type ErrorKind, ErrorCodes } from '../errors.js';
import type { ExperimentReport } from './report.js';
import type { Experiment, ExperimentInput, OutcomeResult } from './types.js';

/** What the CLI needs from experiments, local or remote. */
export interface ExperimentsApi {
  create(input: ExperimentInput): Promise<Experiment>;
  list(): Promise<Experiment[]>;
  show(name: string): Promise<Experiment>;
  stop(name: string): Promise<Experiment>;
  report(name: string): Promise<ExperimentReport>;
  recordOutcomes(name: string, body: unknown): Promise<OutcomeResult>;
}

const kindOf = (code: unknown, status: number): ErrorKind => {
  for (const [kind, spec] of Object.entries(ErrorCodes)) if (spec.code === code) return kind as ErrorKind;
  for (const [kind, spec] of Object.entries(ErrorCodes)) if (spec.status === status) return kind as ErrorKind;
  return 'INTERNAL';
};

/** Experiments over a remote server's `/api/v1/experiments`, for `--server URL --token T`. */
export class RemoteExperiments implements ExperimentsApi {
  private readonly base: string;

  constructor(
    server: string,
    private readonly token?: string,
  ) {
    this.base = `${server.replace(/\/+$/, '')}/api/v1/experiments`;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause.message : String(e);
      throw new BerthError('NOT_READY', `cannot reach the Berth server at ${this.base}: ${cause}`);
    }
    const text = await res.text();
    if (!res.ok) {
      let message = text;
      let code: unknown;
      try {
        const parsed = JSON.parse(text) as { error?: string; code?: string };
        message = parsed.error ?? text;
        code = parsed.code;
      } catch {}
      throw new BerthError(kindOf(code, res.status), `${message} (HTTP ${res.status})`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private at(name: string): string {
    return `/${encodeURIComponent(name)}`;
  }

  create(input: ExperimentInput): Promise<Experiment> {
    return this.call('POST', '', input);
  }

  async list(): Promise<Experiment[]> {
    return (await this.call<{ experiments: Experiment[] }>('GET', '')).experiments;
  }

  show(name: string): Promise<Experiment> {
    return this.call('GET', this.at(name));
  }

  stop(name: string): Promise<Experiment> {
    return this.call('POST', `${this.at(name)}/stop`);
  }

  report(name: string): Promise<ExperimentReport> {
    return this.call('GET', `${this.at(name)}/report`);
  }

  recordOutcomes(name: string, body: unknown): Promise<OutcomeResult> {
    return this.call('POST', `${this.at(name)}/outcomes`, body);
  }
}
