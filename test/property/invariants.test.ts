/**
 * The model checks itself on random worlds: built-in scenarios × designs × seeds under the random
 * scheduler, with the invariants of src/check/invariants.ts run before every step (page tables
 * live, free lists consistent with page states, nothing both free and mapped, IOMMU cache entries
 * explained by past walks). Design bugs (violations) are allowed; a ModelInvariantError is not.
 * Executions are cut at MAX_STEPS to keep the file fast (the checks walk every table per step).
 * fast-check prints the seed and the shrunk counterexample on failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BUILTIN_DESIGNS } from '../../src/designs/index.ts';
import { RandomScheduler, explore } from '../../src/explore/index.ts';
import { programOf } from '../../src/job/program.ts';
import { BUILTIN_SCENARIOS, builtinScenario } from '../../src/scenario/scenario.ts';

const MAX_STEPS = 1500;

test('random built-in scenarios x designs x seeds keep every model invariant at every step (--self-check)', () => {
  const world = fc.record({
    scenario: fc.constantFrom(...BUILTIN_SCENARIOS.map((s) => s.name)),
    design: fc.constantFrom(...BUILTIN_DESIGNS),
    seed: fc.nat(),
  });
  fc.assert(
    fc.property(world, ({ scenario, design, seed }) => {
      const program = programOf(design, builtinScenario(scenario)!, { selfCheck: true, maxSteps: MAX_STEPS });
      const result = explore(program, new RandomScheduler(seed), { budget: 1 });
      assert.equal(result.executions, 1);
    }),
    { numRuns: 24, seed: 0x6b707473 },
  );
});
