import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookSender } from '../../src/webhooks/index.js';

let server: Server | undefined;

/** A receiver that answers each POST with the next status in `statuses` (the last one repeats). */
async function receiver(statuses: number[]): Promise<{ url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  let i = 0;
  server = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (c) => {
      data += c;
    });
    req.on('end', () => {
      bodies.push(JSON.parse(data));
      res.statusCode = statuses[Math.min(i++, statuses.length - 1)] as number;
      res.end();
    });
  });
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}/hook`, bodies };
}

afterEach(async () => {
  const s = server;
  server = undefined;
  if (s) await new Promise((r) => s.close(r));
});

describe('WebhookSender', () => {
  it('retries 5xx answers with backoff until one succeeds', async () => {
    const r = await receiver([503, 500, 200]);
    const sender = new WebhookSender({ baseDelayMs: 5 });
    const d = await sender.send(r.url, { event: 'promoted', n: 1 });
    expect(d).toMatchObject({ ok: true, attempts: 3, status: 200 });
    expect(r.bodies).toEqual([
      { event: 'promoted', n: 1 },
      { event: 'promoted', n: 1 },
      { event: 'promoted', n: 1 },
    ]);
  });

  it('does not retry a 4xx answer and reports it', async () => {
    const r = await receiver([404]);
    const d = await new WebhookSender({ baseDelayMs: 5 }).send(r.url, {});
    expect(d).toMatchObject({ ok: false, attempts: 1, status: 404, error: 'HTTP 404' });
  });

  it('gives up after the configured attempts when nobody listens', async () => {
    const d = await new WebhookSender({ attempts: 3, baseDelayMs: 5 }).send('http://127.0.0.1:1/none', {});
    expect(d.ok).toBe(false);
    expect(d.attempts).toBe(3);
    expect(d.error).toBeTruthy();
  });

  it('close() cuts the wait between retries short', async () => {
    const r = await receiver([500]);
    const sender = new WebhookSender({ attempts: 5, baseDelayMs: 60_000 });
    const p = sender.send(r.url, {});
    await new Promise((res) => setTimeout(res, 100));
    const t0 = Date.now();
    await sender.close();
    const d = await p;
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(d.ok).toBe(false);
    expect(d.attempts).toBe(1);
  });
});
