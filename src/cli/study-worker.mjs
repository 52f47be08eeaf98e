// Worker threads do not inherit the main thread's TypeScript loader: register it, then export the task.
import { register } from 'tsx/esm/api';
register();
const { studyTask } = await import('./study-worker.ts');
export default studyTask;
