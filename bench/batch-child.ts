// Child process of bench/batch.ts: one batch run, so that its peak RSS is measured alone.
import { batchBench } from './batch.js';

await batchBench(['--child', ...process.argv.slice(2)]);
