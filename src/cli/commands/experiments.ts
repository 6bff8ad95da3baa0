import type { Command } from 'commander';

/** `berth experiments …` (placeholder until the experiments commands land). */
export function experimentsCommand(_program: Command): void {}
