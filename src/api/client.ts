import { BerthError, type ErrorKind, ErrorCodes } from '../errors.js';

const kindOf = (code: unknown, status: number): ErrorKind => {
  for (const [kind, spec] of Object.entries(ErrorCodes)) if (spec.code === code) return kind as ErrorKind;
  for (const [kind, spec] of Object.entries(ErrorCodes)) if (spec.status === status) return kind as ErrorKind;
  return 'INTERNAL';
};

/**
 * A JSON client for a Berth server's management API: bearer token, JSON bodies, and error answers
 * turned back into the BerthError (same code) the server raised.
 */
export class ApiClient {
  private readonly base: string;

  constructor(
    server: string,
    private readonly token?: string,
  ) {
    this.base = server.replace(/\/+$/, '');
  }

  /** Sends one request to `path` (from the server root) and parses the JSON answer. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
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
}
