import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { RedisOnlineStore, SqliteOnlineStore } from '../../src/features/index.js';
import { tempHome } from '../helpers.js';
import { onlineStoreContract } from './online-contract.js';

let removeHome: (() => Promise<void>) | undefined;
onlineStoreContract(
  'sqlite',
  async () => {
    const t = await tempHome();
    removeHome = t.cleanup;
    return new SqliteOnlineStore(join(t.home, 'online.db'));
  },
  async () => removeHome?.(),
);

const redisUrl = process.env.BERTH_TEST_REDIS_URL;
if (redisUrl) {
  // a prefix per run keeps parallel runs apart; every view the suite used is deleted after
  const prefix = `berth-test-${randomBytes(4).toString('hex')}`;
  onlineStoreContract(
    'redis',
    async () => new RedisOnlineStore(redisUrl, prefix),
    async (s) => {
      for (const v of ['v', 'n', 'big', 'gone', 'kept']) await s.deleteView(v);
    },
  );
} else {
  describe('online store contract: redis', () => {
    it.skip('skipped: set BERTH_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run it against Redis', () => {});
  });
  process.stdout.write('online store contract: redis skipped (BERTH_TEST_REDIS_URL is not set)\n');
}
