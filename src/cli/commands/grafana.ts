import type { Command } from 'commander';
import { grafanaDashboard } from '../../monitor/grafana.js';
import { printJson } from '../output.js';

/** `berth grafana-dashboard`: prints a Grafana dashboard over Berth's Prometheus metrics. */
export function grafanaCommand(program: Command): void {
  program
    .command('grafana-dashboard')
    .description('print a Grafana dashboard (JSON) over the Prometheus metrics: latency, throughput, errors, drift, accuracy')
    .option('--title <title>', 'dashboard title', 'Berth')
    .action((o: { title: string }) => printJson(grafanaDashboard(o.title)));
}
