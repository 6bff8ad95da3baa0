import { ApiClient } from '../api/index.js';
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

/** Experiments over a remote server's `/api/v1/experiments`, for `--server URL --token T`. */
export class RemoteExperiments implements ExperimentsApi {
  private readonly client: ApiClient;

  constructor(server: string, token?: string) {
    this.client = new ApiClient(server, token);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.client.call<T>(method, `/api/v1/experiments${path}`, body);
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
