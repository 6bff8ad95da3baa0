import type { Command } from 'commander';

/** `berth features …` (placeholder until the features commands land). */
export function featuresCommand(_program: Command): void {}
