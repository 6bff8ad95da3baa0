// The naive baseline of the serving benchmark: Fastify and one InferenceSession.run per request on
// the main thread, JSON in and out, as a user would write it from the onnxruntime-node README.
// MODELS is a JSON object { name: onnxPath }; POST /v2/models/:name/infer takes the V2 JSON body.
import Fastify from 'fastify';
import * as ort from 'onnxruntime-node';

interface JsonInput {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

const models = JSON.parse(process.env.MODELS ?? '{}') as Record<string, string>;
const sessions = new Map<string, ort.InferenceSession>();
for (const [name, path] of Object.entries(models)) sessions.set(name, await ort.InferenceSession.create(path));

function toTensor(t: JsonInput): ort.Tensor {
  const data = t.data.flat(Number.POSITIVE_INFINITY) as number[];
  switch (t.datatype) {
    case 'INT64':
      return new ort.Tensor('int64', BigInt64Array.from(data, (v) => BigInt(v)), t.shape);
    case 'INT32':
      return new ort.Tensor('int32', Int32Array.from(data), t.shape);
    default:
      return new ort.Tensor('float32', Float32Array.from(data), t.shape);
  }
}

const app = Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 });
app.post<{ Params: { name: string }; Body: { inputs: JsonInput[] } }>('/v2/models/:name/infer', async (req, reply) => {
  const session = sessions.get(req.params.name);
  if (!session) return reply.code(404).send({ error: 'unknown model' });
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of req.body.inputs) feeds[t.name] = toTensor(t);
  const results = await session.run(feeds);
  return {
    model_name: req.params.name,
    outputs: Object.entries(results).map(([name, t]) => ({
      name,
      datatype: t.type === 'float32' ? 'FP32' : t.type.toUpperCase(),
      shape: t.dims,
      data: Array.from(t.data as ArrayLike<number | bigint>, Number),
    })),
  };
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
const addr = app.server.address();
process.stdout.write(`LISTENING ${typeof addr === 'object' && addr ? addr.port : ''}\n`);
process.once('SIGINT', () => void app.close().then(() => process.exit(0)));
