import { Redis } from 'ioredis';
import { errors } from '../../errors.js';
import type { OnlineKey, OnlineRecord, OnlineStore, OnlineWrite } from './store.js';

// Each record is one string `eventTs|createdTs|values`. The script writes a batch and keeps the
// newer of stored and incoming per key, atomically, in one round trip.
const WRITE_NEWER = `
for i, key in ipairs(KEYS) do
  local base = (i - 1) * 3
  local ets = tonumber(ARGV[base + 1])
  local cts = tonumber(ARGV[base + 2])
  local cur = redis.call('GET', key)
  local write = true
  if cur then
    local a, b = string.match(cur, '^(%-?%d+)|(%-?%d+)|')
    local cets, ccts = tonumber(a), tonumber(b)
    if ets < cets or (ets == cets and cts < ccts) then write = false end
  end
  if write then redis.call('SET', key, ARGV[base + 1] .. '|' .. ARGV[base + 2] .. '|' .. ARGV[base + 3]) end
end
return 0`;

const BATCH = 1000;

/** The shared online store: several servers read one Redis. Keys are `PREFIX:view:key`. */
export class RedisOnlineStore implements OnlineStore {
  readonly kind = 'redis';
  private readonly redis: Redis;
  private lastError: Error | undefined;

  /** `url` is `redis://host:port[/db]`; `prefix` namespaces the keys (default `berth`). */
  constructor(
    url: string,
    private readonly prefix = 'berth',
  ) {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2, enableAutoPipelining: true });
    this.redis.defineCommand('berthWriteNewer', { lua: WRITE_NEWER });
    // connection errors surface on the command that fails, as one clear message
    this.redis.on('error', (e: Error) => {
      this.lastError = e;
    });
    this.where = url.replace(/\/\/[^@/]*@/, '//');
  }

  private readonly where: string;

  /** Runs a command, turning a connection failure into a NOT_READY error naming the store. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const cause = this.lastError ?? (e as Error);
      throw errors.notReady(`Redis online store ${this.where} failed: ${cause.message}`);
    }
  }

  private k(view: string, key: string): string {
    return `${this.prefix}:${view}:${key}`;
  }

  async write(records: OnlineWrite[]): Promise<void> {
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < records.length; i += BATCH) {
      const batch = records.slice(i, i + BATCH);
      const keys = batch.map((r) => this.k(r.view, r.key));
      const args = batch.flatMap((r) => [String(Math.trunc(r.eventTs)), String(Math.trunc(r.createdTs)), r.values]);
      const cmd = (this.redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)['berthWriteNewer'] as (
        ...a: (string | number)[]
      ) => Promise<unknown>;
      calls.push(cmd.call(this.redis, keys.length, ...keys, ...args));
    }
    await this.call(() => Promise.all(calls));
  }

  async read(keys: OnlineKey[]): Promise<(OnlineRecord | undefined)[]> {
    if (keys.length === 0) return [];
    const raw = await this.call(() => this.redis.mget(keys.map((k) => this.k(k.view, k.key))));
    return raw.map((s) => {
      if (s === null) return undefined;
      const a = s.indexOf('|');
      const b = s.indexOf('|', a + 1);
      return { eventTs: Number(s.slice(0, a)), createdTs: Number(s.slice(a + 1, b)), values: s.slice(b + 1) };
    });
  }

  async deleteView(view: string): Promise<void> {
    let cursor = '0';
    do {
      const [next, found] = await this.call(() => this.redis.scan(cursor, 'MATCH', `${this.prefix}:${view}:*`, 'COUNT', 1000));
      cursor = next;
      if (found.length > 0) await this.call(() => this.redis.unlink(...found));
    } while (cursor !== '0');
  }

  async close(): Promise<void> {
    if (this.redis.status === 'ready') await this.redis.quit();
    else this.redis.disconnect();
  }
}
