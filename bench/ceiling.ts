// The ceiling for the serving benchmark: a bare Fastify route that parses the JSON request and answers
// a constant JSON body, no model. BODIES (JSON { model: responseObject }) sets the answer per model, so
// each model's ceiling parses and writes as many bytes as Berth does for it.
import Fastify from 'fastify';

const fallback = { model_name: 'weather', model_version: '1', outputs: [{ name: 'label', datatype: 'BYTES', shape: [1], data: ['sun'] }] };
const bodies = JSON.parse(process.env.BODIES ?? '{}') as Record<string, object>;
const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
app.post('/infer', async () => fallback);
app.post<{ Params: { name: string } }>('/v2/models/:name/infer', async (req) => bodies[req.params.name] ?? fallback);
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
const addr = app.server.address();
process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : ''}\n`);
process.once('SIGINT', () => void app.close().then(() => process.exit(0)));
