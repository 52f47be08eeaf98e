/** Strategies that drive the Scheduler: random, round robin, replay (more come with the checker). */
export * from './rng.ts';
export * from './random.ts';
export * from './round-robin.ts';
export * from './replay.ts';
