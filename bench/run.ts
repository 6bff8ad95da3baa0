// npm run bench -- <name> [options]: runs one benchmark and prints its table.
import { batchBench } from './batch.js';
import { driftBench } from './drift.js';
import { experimentsBench } from './experiments.js';
import { featureServingBench } from './feature-serving.js';
import { featuresBench } from './features.js';
import { grpcBench } from './grpc.js';
import { routingBench } from './routing.js';
import { monitoringBench } from './monitoring.js';
import { servingBench } from './serving.js';

const benches: Record<string, (args: string[]) => Promise<void>> = {
  serving: servingBench,
  grpc: grpcBench,
  features: featuresBench,
  drift: driftBench,
  batch: batchBench,
  'feature-serving': featureServingBench,
  experiments: experimentsBench,
  routing: routingBench,
  monitoring: monitoringBench,
  protocol: async () => {
    await import('./protocol.js');
  },
};

const [name, ...args] = process.argv.slice(2);
const run = name ? benches[name] : undefined;
if (!run) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]\n`);
  process.exit(1);
}
await run(args);
