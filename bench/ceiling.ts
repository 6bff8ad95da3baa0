// The ceiling for the serving benchmark: a bare Fastify route returning a fixed JSON body.
import Fastify from 'fastify';

const body = { model_name: 'weather', model_version: '1', outputs: [{ name: 'label', datatype: 'BYTES', shape: [1], data: ['sun'] }] };
const app = Fastify({ logger: false });
app.post('/infer', async () => body);
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
const addr = app.server.address();
process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : ''}\n`);
process.once('SIGINT', () => void app.close().then(() => process.exit(0)));
