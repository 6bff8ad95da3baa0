import { ApiClient } from '../api/index.js';
import type { DeploymentStatusView } from './service.js';
import type { DeployEvent, Deployment, DeploymentInput } from './types.js';

/** What the CLI needs from deployments, local or remote. */
export interface DeploymentsApi {
  create(input: DeploymentInput): Promise<Deployment>;
  list(model?: string): Promise<Deployment[]>;
  status(model: string): Promise<DeploymentStatusView>;
  pause(model: string): Promise<Deployment>;
  resume(model: string): Promise<Deployment>;
  rollback(model: string): Promise<Deployment>;
  events(model: string, after?: number): Promise<DeployEvent[]>;
}

/** Deployments over a remote server's `/api/v1/deployments`, for `--server URL --token T`. */
export class RemoteDeployments implements DeploymentsApi {
  private readonly client: ApiClient;

  constructor(server: string, token?: string) {
    this.client = new ApiClient(server, token);
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.client.call<T>(method, `/api/v1/deployments${path}`, body);
  }

  private at(model: string): string {
    return `/${encodeURIComponent(model)}`;
  }

  create(input: DeploymentInput): Promise<Deployment> {
    return this.call('POST', '', input);
  }

  async list(model?: string): Promise<Deployment[]> {
    return (await this.call<{ deployments: Deployment[] }>('GET', model ? `?model=${encodeURIComponent(model)}` : '')).deployments;
  }

  status(model: string): Promise<DeploymentStatusView> {
    return this.call('GET', this.at(model));
  }

  pause(model: string): Promise<Deployment> {
    return this.call('POST', `${this.at(model)}/pause`);
  }

  resume(model: string): Promise<Deployment> {
    return this.call('POST', `${this.at(model)}/resume`);
  }

  rollback(model: string): Promise<Deployment> {
    return this.call('POST', `${this.at(model)}/rollback`);
  }

  async events(model: string, after = 0): Promise<DeployEvent[]> {
    return (await this.call<{ events: DeployEvent[] }>('GET', `${this.at(model)}/events${after ? `?after=${after}` : ''}`)).events;
  }
}
