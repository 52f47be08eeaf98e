import fc from 'fast-check';
import { DfsScheduler, DporScheduler, explore, type Program } from '../../../src/explore/index.ts';
import { NO_OBJECT, step, type Sim, type Thread } from '../../../src/sim/index.ts';
import { program, type World } from './programs.ts';
type Op = { op: 'read'; v: number } | { op: 'write'; v: number } | { op: 'locked'; l: number; body: Op[] } | { op: 'atomic'; body: Op[] } | {op:'choose'};
const leaf: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('read' as const), v: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ op: fc.constant('write' as const), v: fc.integer({ min: 0, max: 1 }) }),
  fc.record({ op: fc.constant('choose' as const) }),
);
const { op: opArb } = fc.letrec<{ op: Op }>((tie) => ({
  op: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    { weight: 5, arbitrary: leaf },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('locked' as const), l: fc.integer({ min: 0, max: 1 }), body: fc.array(tie('op'), { minLength: 1, maxLength: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('atomic' as const), body: fc.array(tie('op'), { minLength: 1, maxLength: 2 }) }) },
  ),
}));
const threadArb = fc.record({ cpu: fc.integer({ min: -1, max: 1 }), kind: fc.constantFrom('task', 'task', 'hardirq'), ops: fc.array(opArb, { minLength: 1, maxLength: 4 }) });
function randomProgram(threads: readonly { cpu: number; kind: string; ops: readonly Op[] }[], out: World[]): Program {
  const run = function* (w: World, t: Thread, ops: readonly Op[], id: number, log: number[]): Sim {
    for (const o of ops) {
      if (o.op === 'read') log.push(yield* w.read(`v${o.v}`));
      else if (o.op === 'write') yield* w.write(`v${o.v}`, id * 10 + log.length);
      else if (o.op === 'choose') { yield step('c', 'local', NO_OBJECT); log.push(100 + w.exec.choose('x', ['a', 'b'])); }
      else if (o.op === 'locked') {
        if (w.lock(`L${o.l}`).holder === t) continue;
        yield* w.acquire(`L${o.l}`, t);
        yield* run(w, t, o.body, id, log);
        yield* w.release(`L${o.l}`);
      } else {
        yield step('preempt_disable', 'local', NO_OBJECT);
        t.ctx.preemptCount++;
        yield* run(w, t, o.body, id, log);
        yield step('preempt_enable', 'local', NO_OBJECT);
        t.ctx.preemptCount--;
      }
    }
  };
  return program('r', threads.map((spec, id) => ({ name: `t${id}`, cpu: spec.cpu, body: function* (w: World, t: Thread) {
        const log: number[] = []; (w as any).logs ??= []; (w as any).logs[id] = log; yield* run(w, t, spec.ops, id + 1, log); } })),
    (w) => { threads.forEach((spec, i) => { if (spec.kind === 'hardirq' && spec.cpu >= 0) (w.exec.threads[i].ctx as any).kind = 'hardirq'; }); out.push(w); });
}
function outcomes(worlds: World[]): string[] {
  const seen = new Set<string>();
  worlds.forEach((w) => { const exec = w.exec;
    const st = exec.violations.length ? 'DL' : exec.threads.every((t) => t.done) ? 'ok' : null;
    if (st === null) return;
    const logs = (w as any).logs ?? [];
    if (st === 'DL') { seen.add('DL'); return; }
    seen.add(`${st}:${w.v('v0').value},${w.v('v1').value}|${logs.map((l: number[]) => (l ?? []).filter((x) => st === 'ok' || x < 100).join('.')).join('/')}`);
  });
  return [...seen].sort();
}

if (process.argv[2] === 'one') {
  const threads = JSON.parse(process.argv[3]);
  for (const S of [DfsScheduler, DporScheduler]) {
    const ws: World[] = [];
    const p = randomProgram(threads, ws);
    const s = new S();
    for (let i = 0; s.beginExecution(i); i++) {
      const exec = p.build(s); const r = exec.run();
      if (S === DporScheduler) console.log(i, r.status, r.choices.map((c) => c.kind === 'data' ? `=${c.chosen}` : `${c.options[c.chosen]}/[${c.options}]`).join(' '));
      s.endExecution(exec, r);
    }
    console.log(S.name, outcomes(ws));
  }
  process.exit(0);
}
const seed = Number(process.argv[2] ?? 1);
let runs = 0, dfsTotal = 0, dporTotal = 0;
fc.assert(fc.property(fc.array(threadArb, { minLength: 2, maxLength: 3 }), (threads) => {
  const a: World[] = [], b: World[] = [];
  const dfs = explore(randomProgram(threads, a), new DfsScheduler(), { budget: 30000 });
  if (!dfs.complete) return true;
  const dpor = explore(randomProgram(threads, b), new DporScheduler(), {});
  runs++; dfsTotal += dfs.executions; dporTotal += dpor.executions;
  const x = outcomes(a), y = outcomes(b);
  if (JSON.stringify(x) !== JSON.stringify(y)) { console.log(JSON.stringify(threads)); console.log('dfs', x); console.log('dpor', y); return false; }
  return dpor.complete;
}), { seed, numRuns: Number(process.argv[3] ?? 500) });
console.log('ok', runs, dfsTotal, dporTotal);
