import { ApiClient } from '../../api/index.js';
import type { AlertsApi, AlertRuleView, ApplyOutcome, EventQuery, RulesSource } from './service.js';
import type { AlertEvent } from './store.js';

/** Alerts over a remote server's `/api/v1/alerts`, for `--server URL --token T`. */
export class RemoteAlerts implements AlertsApi {
  private readonly client: ApiClient;

  constructor(server: string, token?: string) {
    this.client = new ApiClient(server, token);
  }

  apply(source: RulesSource, dryRun: boolean): Promise<ApplyOutcome> {
    return this.client.call('PUT', '/api/v1/alerts', { ...source, dry_run: dryRun });
  }

  async list(): Promise<AlertRuleView[]> {
    return (await this.client.call<{ rules: AlertRuleView[] }>('GET', '/api/v1/alerts')).rules;
  }

  async events(q: EventQuery = {}): Promise<AlertEvent[]> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
    const qs = params.size > 0 ? `?${params}` : '';
    return (await this.client.call<{ events: AlertEvent[] }>('GET', `/api/v1/alerts/events${qs}`)).events;
  }
}
