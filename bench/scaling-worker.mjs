// A worker thread of the scaling measurement: worker threads do not inherit tsx's loader, so
// register it, then run the job module (the same arrangement as src/cli/runner-worker.mjs).
import { register } from 'tsx/esm/api';
register();
await import('./scaling-job.ts');
