/** Webhooks: POST an event's JSON to a URL, retried with exponential backoff; shared by rollouts and alerts. */
import type { Logger } from 'pino';

export interface WebhookOptions {
  /** Attempts in all, the first included (default 5). */
  attempts?: number;
  /** Delay before the first retry, doubled for each next one, with ±20% jitter (default 500 ms). */
  baseDelayMs?: number;
  /** Longest wait for one answer (default 5 s). */
  timeoutMs?: number;
  log?: Pick<Logger, 'warn' | 'info'>;
}

/** The outcome of one delivery. */
export interface Delivery {
  url: string;
  ok: boolean;
  attempts: number;
  /** The last HTTP status, when the server answered. */
  status?: number;
  error?: string;
}

/** True for answers worth retrying: no answer, 408, 429 and 5xx. */
const retryable = (status: number | undefined) => status === undefined || status === 408 || status === 429 || status >= 500;

/**
 * Delivers events to webhooks in the background. `send` never throws; `close` cancels the waits
 * between retries and resolves once every delivery has finished.
 */
export class WebhookSender {
  private readonly pending = new Set<Promise<Delivery>>();
  private readonly abort = new AbortController();

  constructor(private readonly opts: WebhookOptions = {}) {}

  /** POSTs `body` as JSON to `url`, retrying failures; resolves with the outcome. */
  send(url: string, body: unknown): Promise<Delivery> {
    const p = this.deliver(url, JSON.stringify(body)).finally(() => this.pending.delete(p));
    this.pending.add(p);
    return p;
  }

  private async deliver(url: string, json: string): Promise<Delivery> {
    const attempts = Math.max(1, this.opts.attempts ?? 5);
    const base = this.opts.baseDelayMs ?? 500;
    let status: number | undefined;
    let error: string | undefined;
    for (let i = 1; i <= attempts; i++) {
      status = undefined;
      error = undefined;
      try {
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'user-agent': 'berth-webhook' },
          body: json,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.timeoutMs ?? 5_000)]),
        });
        status = res.status;
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return { url, ok: true, attempts: i, status };
        error = `HTTP ${res.status}`;
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      if (!retryable(status) || i === attempts || this.abort.signal.aborted) {
        this.opts.log?.warn({ url, attempts: i, status, err: error }, 'webhook delivery failed');
        return { url, ok: false, attempts: i, ...(status !== undefined ? { status } : {}), error };
      }
      const delay = base * 2 ** (i - 1) * (0.8 + Math.random() * 0.4);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.abort.signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        });
      });
      if (this.abort.signal.aborted) {
        this.opts.log?.warn({ url, attempts: i, status, err: error }, 'webhook delivery abandoned at shutdown');
        return { url, ok: false, attempts: i, ...(status !== undefined ? { status } : {}), error };
      }
    }
    return { url, ok: false, attempts, error };
  }

  /** Stops retrying and waits for deliveries in flight. */
  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.pending]);
  }
}
