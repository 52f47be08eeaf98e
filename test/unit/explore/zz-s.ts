import { explore, RandomScheduler, renderSchedule, reportsKind, shrink, scheduleOf } from '../../../src/explore/index.ts';
import { counter } from './programs.ts';
for (const seed of [1,2,3,4,5,6]) {
const p = counter(2, false);
const found = explore(p, new RandomScheduler(seed), { budget: 200, stopAtFirst: true });
const ch = found.violations[0].choices;
console.log(seed, renderSchedule(ch), JSON.stringify(scheduleOf(ch)));
const s = shrink(p, ch, reportsKind('assertion'));
console.log('  ->', renderSchedule(s.choices), JSON.stringify(s.schedule), s.shrunk);
}
