import type { FastifyInstance } from 'fastify';
import { errors } from '../errors.js';
import { type FeatureStore, openFeatureStore } from './feature-store.js';
import type { PushRequest } from './push.js';

export interface FeaturesPluginOptions {
  /** An open store; or `home` (and `onlineStore`) to open one that closes with the server. */
  store?: FeatureStore;
  home?: string;
  onlineStore?: string;
  /** How often to look for definitions applied by another process, ms (default 1000). */
  reloadMs?: number;
}

function body(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw errors.badRequest('request body must be a JSON object', 'body');
  return raw as Record<string, unknown>;
}

/** Feast's feature server routes: `POST /get-online-features` (role read) and `POST /push` (role deploy). */
export async function featuresPlugin(app: FastifyInstance, opts: FeaturesPluginOptions): Promise<void> {
  let store = opts.store;
  if (!store) {
    if (!opts.home) throw errors.badRequest('featuresPlugin needs a store or a home', 'home');
    store = openFeatureStore({ home: opts.home, onlineStore: opts.onlineStore });
    const owned = store;
    app.addHook('onClose', async () => owned.close());
  }
  const fs = store;
  const timer = setInterval(() => {
    try {
      fs.reloadIfChanged();
    } catch {
      // a busy or vanished registry is retried on the next tick
    }
  }, opts.reloadMs ?? 1000).unref();
  app.addHook('onClose', async () => clearInterval(timer));

  app.post('/get-online-features', { config: { role: 'read' } }, async (req, reply) => {
    const b = body(req.body);
    if (b.full_feature_names !== undefined && typeof b.full_feature_names !== 'boolean') {
      throw errors.badRequest('full_feature_names must be true or false', 'full_feature_names');
    }
    const json = await fs.getOnlineFeaturesJson({
      features: b.features as string[] | undefined,
      service: b.feature_service as string | undefined,
      entities: b.entities as Record<string, unknown[]>,
      fullFeatureNames: b.full_feature_names === true,
    });
    // already JSON: Fastify sends a string with a JSON content type as it is
    return reply.type('application/json; charset=utf-8').send(json);
  });

  app.post('/push', { config: { role: 'deploy' } }, async (req) => {
    return fs.push(body(req.body) as unknown as PushRequest);
  });
}
