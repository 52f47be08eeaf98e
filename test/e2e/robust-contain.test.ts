/**
 * A user design's faults stay in the thread and step they happen in (src/job/contain.ts): each is
 * an `assertion` oops of the modelled kernel naming the hook, never a crash of kptsim. Runs the CLI
 * entry in this process (the design's hooks run in a watched worker thread, src/cli/runner.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../src/cli/main.ts';

async function runJson(design: string): Promise<{ code: number; result: { violations: { kind: string; title: string; details: string[]; thread: string; step: number }[] } }> {
  let out = '';
  let err = '';
  const code = await main(['run', '--design', `test/fixtures/designs/${design}.ts`, '--scenario', 'examples/scenarios/vfree-small.yaml', '--max-steps', '5000', '--json'], {
    exitCode: 0,
    out: (s) => void (out += s),
    err: (s) => void (err += s),
  });
  assert.equal(err, '');
  return { code, result: JSON.parse(out) };
}

const cases: [string, string, RegExp][] = [
  [
    'bad-yield',
    'yields something that is not a step (a bogus access kind)',
    /^Oops: TypeError: design hook pte_free_kernel yielded step 'fixture_bad_step' with access 'scribble' \(expected read, write, acquire, release, local\), not a step\(label, access, obj\) in cpu0:vmalloc$/,
  ],
  ['not-generator', 'is a plain function returning no generator', /^Oops: TypeError: design hook pte_free_kernel returned string, not a generator \(declare it function\*\) in cpu0:vmalloc$/],
  ['blocker-throws', "waits on a Blocker whose blocks() throws (asked outside any thread)", /^Oops: Error: fixture: blocks\(\) gave up in cpu0:vmalloc$/],
];

for (const [design, what, title] of cases) {
  test(`a design hook that ${what} is contained: an assertion oops in the calling thread at its step, exit 1`, async () => {
    const { code, result } = await runJson(design);
    assert.equal(code, 1);
    const oops = result.violations.filter((v) => v.kind === 'assertion');
    assert.equal(oops.length, 1, JSON.stringify(result.violations.map((v) => v.title)));
    assert.match(oops[0].title, title);
    assert.equal(oops[0].thread, 'cpu0:vmalloc');
    assert.match(oops[0].details[0], new RegExp(`^exception in a kernel hook at step ${oops[0].step}, in \\S+`));
  });
}
