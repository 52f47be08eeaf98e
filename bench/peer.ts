/**
 * Measurement 6, a peer: SPIN on bench/promela/deferred-free.pml — the mechanism of the
 * vfree-huge-vmap scenario with the same threads (5) and page frames (2048) — beside kptsim on
 * that scenario. For each design the model has: SPIN's states per second on a full search (the
 * design without the bug) and its time to the use-after-free (the designs with it), counted two
 * ways: the search alone (./pan) and the whole job (spin -a, gcc, ./pan) — a user pays the whole
 * job on every model change; then kptsim's time to the same bug with pct and dpor. kptsim does far
 * more per step (real page tables, caches, allocator checks), so the comparison that matters is
 * time to the bug, not raw state rate.
 *
 * Skipped, with the reason printed, when `spin` or `gcc` is not installed (Debian: apt-get install spin gcc).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Design } from '../src/designs/index.ts';
import type { StrategyName } from '../src/explore/index.ts';
import type { Scenario } from '../src/scenario/scenario.ts';
import { threadsOf } from './exploration.ts';
import { timeToFirstViolation } from './first-violation.ts';
import { figure, now, type Figure } from './stats.ts';

const GROUP = '6. peer: SPIN';

/** The designs the Promela model has, by its DESIGN macro. */
const MODEL_DESIGNS: Readonly<Record<string, number>> = { immediate: 0, v3: 1, upstream: 2 };

export interface PeerOptions {
  /** kptsim designs by name (must be in MODEL_DESIGNS), with their Design objects. */
  readonly designs: readonly Design[];
  readonly scenario: Scenario;
  readonly strategies: readonly StrategyName[];
  readonly runs: number;
  /** Cap on each kptsim search. */
  readonly capMs: number;
}

export interface PeerResult {
  readonly figures: Figure[];
  /** Why the peer was not run, when it was not. */
  readonly skipped?: string;
}

interface PanRun {
  readonly generateMs: number;
  readonly compileMs: number;
  readonly searchMs: number;
  readonly states: number;
  readonly errors: number;
}

function missingTool(): string | undefined {
  for (const tool of ['spin', 'gcc']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} not found (Debian: apt-get install spin gcc)`;
    }
  }
  return undefined;
}

export function measurePeer(o: PeerOptions): PeerResult {
  const missing = missingTool();
  if (missing !== undefined) return { figures: [], skipped: missing };
  const model = fileURLToPath(new URL('./promela/deferred-free.pml', import.meta.url));
  const frames = o.scenario.config.frames;
  const figures: Figure[] = [];
  for (const design of o.designs) {
    const macro = MODEL_DESIGNS[design.name];
    if (macro === undefined) throw new Error(`peer: the Promela model has no design ${design.name}`);
    const pans = Array.from({ length: o.runs }, () => runPan(model, macro, frames));
    const buggy = pans[0].errors > 0;
    const tag = `${design.name} on ${o.scenario.name} (${frames} pages, ${threadsOf(design, o.scenario)} threads)`;
    if (!buggy) {
      figures.push(figure(GROUP, `SPIN full search, ${tag}`, 'states/s', pans.map((p) => (p.states / p.searchMs) * 1000), { note: `${pans[0].states} states, no error` }));
      continue;
    }
    figures.push(figure(GROUP, `SPIN time to bug, search only, ${tag}`, 'ms', pans.map((p) => p.searchMs), { note: `assertion after ${pans[0].states} states` }));
    const total = pans.map((p) => p.generateMs + p.compileMs + p.searchMs);
    figures.push(figure(GROUP, `SPIN time to bug, spin -a + gcc + pan`, 'ms', total));
    for (const strategy of o.strategies) {
      const runs = Array.from({ length: o.runs }, (_, seed) => timeToFirstViolation(design, o.scenario, strategy, seed, o.capMs));
      const ms = runs.map((r) => (r.execution === null ? Infinity : r.ms));
      const found = runs.filter((r) => r.execution !== null).length;
      figures.push(figure(GROUP, `kptsim ${strategy} time to bug`, 'ms', ms, { note: `found in ${found}/${runs.length}` }));
      const ratios = ms.map((m, i) => m / total[i % total.length]);
      figures.push(
        figure(GROUP, `kptsim ${strategy} / SPIN whole job`, 'ratio', ratios, { target: { op: '<=', value: 1 }, note: 'time to bug; <= 1 is parity or better' }),
      );
    }
  }
  return { figures };
}

function runPan(model: string, design: number, frames: number): PanRun {
  const dir = mkdtempSync(join(tmpdir(), 'kptsim-spin-'));
  try {
    const run = (file: string, args: string[]) => {
      const t0 = now();
      let out: string;
      try {
        out = execFileSync(file, args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        // pan exits non-zero on some errors; its report is still on stdout.
        const e = err as { stdout?: string; message: string };
        if (file !== './pan' || e.stdout === undefined) throw new Error(`peer: ${file} ${args.join(' ')} failed: ${e.message}`);
        out = e.stdout;
      }
      return { ms: now() - t0, out };
    };
    const generate = run('spin', ['-a', `-DDESIGN=${design}`, `-DNPAGES=${frames}`, model]);
    // The state vector holds one byte per page frame, plus the processes.
    const compile = run('gcc', ['-O2', '-DSAFETY', `-DVECTORSZ=${frames + 2048}`, '-o', 'pan', 'pan.c']);
    const search = run('./pan', ['-m100000']);
    const states = Number(/(\d+) states, stored/.exec(search.out)?.[1] ?? NaN);
    const errors = Number(/errors: (\d+)/.exec(search.out)?.[1] ?? NaN);
    if (!Number.isFinite(states) || !Number.isFinite(errors)) throw new Error(`peer: cannot read pan's report:\n${search.out}`);
    return { generateMs: generate.ms, compileMs: compile.ms, searchMs: search.ms, states, errors };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
