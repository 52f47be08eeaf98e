/** The execution core: simulated threads, kernel contexts, scheduling points and the Scheduler contract. */
export * from './step.ts';
export * from './context.ts';
export * from './violation.ts';
export * from './choice.ts';
export * from './thread.ts';
export * from './stack.ts';
export * from './trace.ts';
export * from './execution.ts';
export * from './happens-before.ts';
