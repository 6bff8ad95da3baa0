import type { Command } from 'commander';

/** `berth drift …` (placeholder until the drift commands land). */
export function driftCommand(_program: Command): void {}
