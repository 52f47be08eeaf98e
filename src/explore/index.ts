/** Strategies that drive the Scheduler, the explorer loop, replay, tokens and shrinking. */
export * from './rng.ts';
export * from './program.ts';
export * from './strategy.ts';
export * from './random.ts';
export * from './pct.ts';
export * from './dfs.ts';
export * from './dpor.ts';
export * from './strategies.ts';
export * from './round-robin.ts';
export * from './replay.ts';
export * from './steered.ts';
export * from './token.ts';
export * from './schedule.ts';
export * from './shrink.ts';
export * from './explorer.ts';
export * from './partition.ts';
export * from './checkpoint.ts';
