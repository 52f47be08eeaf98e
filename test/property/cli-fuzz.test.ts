/**
 * Bad input never crashes kptsim: random and mutated scenario files, replay tokens and flag
 * combinations thrown at the CLI entry `main(argv, ctx)` in this process. Every call must return
 * (no uncaught exception) an exit code in {0, 1, 2}; exit 2 is one line on stderr, no stack trace,
 * nothing on stdout. Executions are capped (--budget, --max-steps, --spray) so each call is quick.
 * Designs given by path are left out of `check` here (they run in a watched worker: slow to start;
 * test/e2e/robust.test.ts covers them), and so is `study` (the default command: a whole study).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { MAX_INPUT_BYTES } from '../../src/cli/load.ts';
import { main } from '../../src/cli/main.ts';
import { MAX_SCENARIO_KEYS } from '../../src/scenario/scenario.ts';
import { encodeToken } from '../../src/explore/index.ts';
import { replayLabel } from '../../src/job/label.ts';
import type { Choice } from '../../src/sim/index.ts';

const SMALL = 'examples/scenarios/vfree-small.yaml';
const dir = mkdtempSync(join(tmpdir(), 'kptsim-fuzz-'));
let files = 0;

function file(content: string | Uint8Array, ext = 'yaml'): string {
  const path = join(dir, `f${files++}.${ext}`);
  writeFileSync(path, content);
  return path;
}

interface Call {
  readonly argv: readonly string[];
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function call(argv: readonly string[]): Promise<Call> {
  let out = '';
  let err = '';
  const ctx = {
    exitCode: 0,
    out: (s: string) => void (out += s),
    err: (s: string) => void (err += s),
  };
  let code: number;
  try {
    code = await main(argv, ctx);
  } catch (e) {
    assert.fail(`kptsim ${argv.join(' ')} threw: ${(e as Error).stack}`);
  }
  return { argv, code, out, err };
}

/** The contract of every call, whatever the input. */
function assertClean(r: Call): void {
  const what = `kptsim ${r.argv.map((a) => JSON.stringify(a)).join(' ')}\nstderr: ${r.err}`;
  assert.ok([0, 1, 2].includes(r.code), `exit ${r.code}: ${what}`);
  assert.doesNotMatch(r.err, /^\s+at .+[:(]\d+/m, `a stack trace: ${what}`);
  if (r.code === 2) {
    assert.equal(r.err.trimEnd().split('\n').length, 1, `exit 2 is one line: ${what}`);
    assert.match(r.err, /\S/, `exit 2 says why: ${what}`);
    assert.equal(r.out, '', `exit 2 writes nothing on stdout: ${what}`);
  }
}

const FUZZ = { seed: 0x6b707473, endOnFailure: true } as const;
/** A hung call fails its test instead of blocking the run (each file of calls takes a few seconds). */
const NO_HANG_MS = 60_000;

// A token `check` really printed, the base the token mutations start from.
let token = '';
before(async () => {
  const r = await call(['check', '--design', 'immediate', '--scenario', SMALL, '--strategy', 'random', '--budget', '4', '--max-steps', '5000', '--json']);
  assert.equal(r.code, 1, r.err);
  token = JSON.parse(r.out).violations[0].replay;
});

// --- scenario files --------------------------------------------------------------------------

const BASE_SCENARIO = {
  name: 'fuzz',
  workload: 'vfree-huge-vmap',
  params: { rounds: 1, probes: 0 },
  config: { cpus: 2, frames: 2048, kworkers: 1, iommu: { pde: 4, iotlb: 8 } },
};

const PATHS: readonly (readonly string[])[] = [
  ['name'],
  ['summary'],
  ['workload'],
  ['params'],
  ['params', 'rounds'],
  ['params', 'probes'],
  ['params', 'bogus'],
  ['config'],
  ['config', 'cpus'],
  ['config', 'frames'],
  ['config', 'kworkers'],
  ['config', 'pagingLevels'],
  ['config', 'iommu'],
  ['config', 'iommu', 'pde'],
  ['config', 'iommu', 'iotlb'],
  ['config', 'iommu', 'speculate'],
  ['config', 'pageFlags', 'NR_PAGEFLAGS'],
  ['config', 'pageFlags', 'ZONES_WIDTH'],
  ['config', 'sectionFrames'],
  ['config', 'hotplugSections'],
  ['config', 'directMap4k'],
  ['config', 'failAtomicAllocations'],
  ['extra'],
];

const WORKLOAD_NAMES = ['vfree-huge-vmap', 'pud-huge-vmap', 'pte-populate-race', 'hot-remove', 'cpa-collapse', 'bind-unbind', 'mixed-reuse', 'nope'];

/** Values of every JSON type, in and out of range; numbers stay small enough to build quickly. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: -3, max: 6 }),
  fc.integer({ min: -100, max: 4096 }),
  fc.constantFrom(2 ** 31, 2 ** 53 + 1, 1e300, -0, 0.5, 1024, 2048, 512),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 12 }),
  fc.constantFrom(...WORKLOAD_NAMES),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.integer({ min: 0, max: 8 }), { maxKeys: 3 }),
);

type Mutation = { readonly path: readonly string[]; readonly op: 'delete' } | { readonly path: readonly string[]; readonly op: 'set'; readonly value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ path: fc.constantFrom(...PATHS), op: fc.constant('delete' as const) }),
  fc.record({ path: fc.constantFrom(...PATHS), op: fc.constant('set' as const), value: anyValue }),
);

function mutate(base: unknown, m: Mutation): unknown {
  const doc = structuredClone(base) as Record<string, unknown>;
  let at: Record<string, unknown> = doc;
  for (const key of m.path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  const last = m.path[m.path.length - 1];
  if (m.op === 'delete') delete at[last];
  else at[last] = m.value;
  return doc;
}

const scenarioText: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([ms, json]) => {
    const doc = ms.reduce<unknown>(mutate, BASE_SCENARIO);
    return json ? JSON.stringify(doc) : stringify(doc);
  }) },
  { weight: 1, arbitrary: fc.json() },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('a: [1, 2', '{"name": ', 'name: x\n  bad: indent', '&a [*a]', '---\n---\n', '\u0000\u0001', 'name: !!binary AAAA') },
);

test('random and mutated scenario files: a clean result or one line naming the file and field, exit 2', { timeout: NO_HANG_MS }, async () => {
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(scenarioText, fc.constantFrom('yaml', 'json', 'yml'), async (text, ext) => {
      const path = file(text, ext);
      const r = await call(['check', '--design', 'immediate', '--scenario', path, '--strategy', 'random', '--budget', '1', '--max-steps', '3000', '--json']);
      assertClean(r);
      if (r.code === 2) {
        refused++;
        assert.ok(r.err.includes(path), `the error names the file: ${r.err}`);
      }
    }),
    { ...FUZZ, numRuns: 200 },
  );
  assert.ok(refused > 30, `most mutations are refused (${refused})`);
});

test('oversized and over-keyed scenario files are refused by their size or key count: exit 2, one short line, in under a second each', { timeout: NO_HANG_MS }, async () => {
  const keyed = (n: number, json: boolean) =>
    json ? JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 1]))) : Array.from({ length: n }, (_, i) => `k${i}: 1`).join('\n');
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.integer({ min: MAX_INPUT_BYTES + 1, max: 4 * MAX_INPUT_BYTES }).map((n) => ({ text: `name: ${'a'.repeat(n)}`, ext: 'yaml' })),
        fc.tuple(fc.integer({ min: MAX_SCENARIO_KEYS + 1, max: 5 * MAX_SCENARIO_KEYS }), fc.boolean()).map(([n, json]) => ({ text: keyed(n, json), ext: json ? 'json' : 'yaml' })),
      ),
      async ({ text, ext }) => {
        const path = file(text, ext);
        const started = performance.now();
        const r = await call(['check', '--design', 'immediate', '--scenario', path, '--budget', '1', '--json']);
        const ms = performance.now() - started;
        assert.equal(r.code, 2, r.err.slice(0, 300));
        assert.equal(r.err.split('\n').length, 2, 'one line');
        assert.ok(r.err.length < 400, `a short line (${r.err.length} characters)`);
        assert.ok(ms < 1000, `refused in ${ms.toFixed(0)} ms`);
        assert.equal(r.out, '');
      },
    ),
    { ...FUZZ, numRuns: 12 },
  );
  assert.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null given as an output stays a device');
});

// --- replay tokens ---------------------------------------------------------------------------

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const choiceList: fc.Arbitrary<Choice[]> = fc.array(
  fc.integer({ min: 1, max: 4 }).chain((n) =>
    fc.record({
      kind: fc.constantFrom('thread' as const, 'data' as const),
      reason: fc.constantFrom('schedule', 'gfp'),
      options: fc.constant(Array.from({ length: n }, (_, i) => `t${i}`)),
      chosen: fc.integer({ min: 0, max: n - 1 }),
    }),
  ),
  { maxLength: 20 },
);

const tokenArg: fc.Arbitrary<string> = fc.oneof(
  // Truncated.
  fc.nat().map((n) => token.slice(0, n % token.length)),
  // One character of the payload changed (any bit flip of the encoded bytes changes one character).
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 63 })).map(([at, by]) => {
    const i = 5 + (at % (token.length - 5));
    return token.slice(0, i) + B64[(B64.indexOf(token[i]) + by) % 64] + token.slice(i + 1);
  }),
  // Another version.
  fc.constantFrom('kpt0.', 'kpt2.', 'kpt10.', 'KPT1.', 'kpt1').map((p) => p + token.slice(5)),
  fc.string({ maxLength: 60 }),
  fc.string({ maxLength: 60 }).map((s) => `kpt1.${s}`),
  fc.array(fc.constantFrom(...B64), { maxLength: 60 }).map((cs) => `kpt1.${cs.join('')}`),
  // Well-formed and checksummed, but naming junk, another program, or another schedule.
  fc.tuple(fc.string({ maxLength: 30 }), fc.string({ maxLength: 40 }), choiceList).map(([identity, label, cs]) => encodeToken(identity, cs, label)),
  fc.tuple(fc.constantFrom('immediate', 'upstream', 'nope', './nope.ts'), fc.constantFrom(SMALL, 'vfree-huge-vmap', 'nope'), fc.option(fc.integer({ min: -1, max: 5000 })), choiceList).map(
    ([d, s, maxSteps, cs]) => encodeToken('{}', cs, maxSteps === null ? replayLabel(d, s) : JSON.stringify([d, s, maxSteps])),
  ),
  fc.json({ maxDepth: 2 }).map((j) => encodeToken('', [], j)),
);

test('truncated, bit-flipped, other-version and random tokens: replay refuses them with exit 2 and one line', { timeout: NO_HANG_MS }, async () => {
  const r = await call(['replay', token]);
  assert.equal(r.code, 1, `the base token replays: ${r.err}`);
  await fc.assert(
    fc.asyncProperty(tokenArg, fc.boolean(), async (arg, json) => {
      const r = await call(['replay', arg, ...(json ? ['--json'] : [])]);
      assertClean(r);
      if (arg !== token) assert.equal(r.code, 2, `a damaged token is refused: ${arg}`);
    }),
    { ...FUZZ, numRuns: 300 },
  );
});

// --- flag combinations -----------------------------------------------------------------------

/** A fresh output path (none exists yet), a directory, or a path under a missing directory. */
const outputPath = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null).map(() => join(dir, `out${files++}`)) },
  fc.constant(dir),
  fc.constant(join(dir, 'no-such-dir', 'out')),
  // A device: written to in place, never replaced by a renamed regular file.
  fc.constant('/dev/null'),
);
const junkFile = fc.oneof(scenarioText, fc.json()).map((t) => file(t, 'json'));
/** A count flag's value: mostly valid (so that runs get past parsing), else one of the ways to get it wrong. */
const count = (valid: readonly string[]) =>
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...valid) }, { weight: 1, arbitrary: fc.constantFrom('', '-1', 'x', '1.5', '1e3', '0x10', ' 1', '99999999999999999999') });
const designName = fc.constantFrom('immediate', 'upstream', 'seed', 'v1', 'v2', 'v3', 'nope', '', 'test/fixtures/designs/none.ts');
const scenarioName = fc.oneof(fc.constantFrom(SMALL, 'vfree-huge-vmap', 'nope', '', 'missing.yaml', dir), junkFile);
const checkJson = fc.constantFrom(
  '{"version":1,"design":"a","scenario":"b","strategy":"pct","seed":0,"executions":1,"complete":false,"stoppedBy":"budget","violations":[]}',
  '{"version":1,"design":"c","scenario":"b","strategy":"pct","seed":0,"executions":1,"complete":false,"stoppedBy":"budget","violations":[]}',
  '{"version":1,"violations":[{"replay":5}],"executions":"x"}',
  '{"version":1,"violations":[null, {"execution": "x"}],"executions":1}',
  'null',
  '[]',
  '{"violations":[{"replay":"kpt1.AAAA"}]}',
);

/** A required flag: mostly a good value, sometimes a bad one, now and then left out. */
function required(flag: string, good: readonly string[], bad: fc.Arbitrary<string>): fc.Arbitrary<string[]> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...good).map((v) => [flag, v]) },
    { weight: 1, arbitrary: bad.map((v) => [flag, v]) },
    { weight: 1, arbitrary: fc.constant<string[]>([]) },
  );
}

/** Each command's flags with good and bad values; `fixed` flags are always given (the caps, the required ones). */
interface CommandSpec {
  readonly name: string;
  readonly fixed: fc.Arbitrary<string[]>;
  readonly flags: Record<string, fc.Arbitrary<string> | null>;
  readonly args?: fc.Arbitrary<string[]>;
}

const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'check',
    fixed: fc
      .tuple(
        count(['0', '1', '2', '3']),
        count(['1', '50', '2000']),
        required('--design', ['immediate', 'upstream', 'seed', 'v1', 'v3'], designName),
        required('--scenario', [SMALL, 'vfree-huge-vmap'], scenarioName),
      )
      .map(([b, m, d, s]) => ['--budget', b, '--max-steps', m, ...d, ...s]),
    flags: {
      '--design': designName,
      '--scenario': scenarioName,
      '--strategy': fc.constantFrom('random', 'pct', 'dfs', 'dpor', 'bfs', ''),
      '--seed': count(['0', '7']),
      '--depth': count(['0', '1', '3']),
      '--preemption-bound': count(['0', '2']),
      '--time': fc.constantFrom('1ms', '50ms', '1s', '0', 'x', '1h2m', '-1s'),
      '--workers': fc.constantFrom('1', '1', '0', '65', 'x'),
      '--shard': fc.constantFrom('0/1', '1/2', '0/3', '2/2', '0/0', 'x', '1/'),
      '--execution-timeout': fc.constantFrom('1s', '10s', '5ms', 'x', '10ms'),
      '--resume': fc.oneof(junkFile, fc.constantFrom(join(dir, 'missing.json'))),
      '--checkpoint-every': count(['1', '0']),
      '--checkpoint': outputPath,
      '--json': null,
    },
  },
  {
    name: 'run',
    fixed: fc
      .tuple(count(['0', '10', '2000']), required('--design', ['immediate', 'upstream', './examples/designs/sync-invalidate.ts'], designName), required('--scenario', [SMALL, 'vfree-huge-vmap'], scenarioName))
      .map(([m, d, s]) => ['--max-steps', m, ...d, ...s]),
    flags: {
      '--design': fc.oneof(designName, fc.constantFrom('./examples/designs/sync-invalidate.ts', 'test/fixtures/designs/throws.ts', 'test/fixtures/designs/spins.ts')),
      '--scenario': scenarioName,
      '--seed': count(['0', '1', '9']),
      '--costs': fc.oneof(junkFile, fc.constantFrom(file('pageAlloc: 10\n'), file('pageAloc: 10\n'), file('pageAlloc: -1\n'), dir)),
      '--json': null,
    },
  },
  {
    name: 'compare',
    fixed: fc.tuple(required('--designs', ['seed', 'seed,upstream'], fc.constantFrom(',', '', 'nope')), required('--scenario', [SMALL], scenarioName)).map(([d, s]) => [...d, ...s]),
    flags: {
      '--designs': fc.constantFrom('seed', 'seed,upstream', ',', '', 'nope,seed', 'seed,,upstream'),
      '--scenario': fc.oneof(fc.constantFrom(SMALL, 'nope'), junkFile),
      '--costs': fc.oneof(junkFile, fc.constantFrom(file('{"dma": 5}'), file('dma: [1]'), file('dma: 1e13'))),
      '--json': null,
    },
  },
  {
    name: 'demo',
    fixed: count(['0', '4', '32']).map((s) => ['--spray', s]),
    flags: { '--seed': count(['0', '3']), '--json': null },
  },
  { name: 'replay', fixed: fc.constant([]), flags: { '--json': null, '--html': outputPath }, args: fc.array(fc.oneof(tokenArg, junkFile, fc.constant(dir)), { maxLength: 2 }) },
  { name: 'merge', fixed: fc.constant([]), flags: {}, args: fc.array(fc.oneof(junkFile, { weight: 3, arbitrary: checkJson.map((t) => file(t, 'json')) }, fc.constant(dir)), { maxLength: 3 }) },
  { name: 'designs', fixed: fc.constant([]), flags: {}, args: fc.array(fc.string({ maxLength: 5 }), { maxLength: 1 }) },
  { name: 'scenarios', fixed: fc.constant([]), flags: {}, args: fc.constant([]) },
];

/** check has the most flags and the most ways to combine them: it gets the most runs. */
const WEIGHT: Record<string, number> = { check: 6, run: 2, replay: 2 };

const argv: fc.Arbitrary<string[]> = fc.oneof(...COMMANDS.map((c) => ({ weight: WEIGHT[c.name] ?? 1, arbitrary: fc.constant(c) }))).chain((spec) => {
  const names = Object.keys(spec.flags);
  const flag: fc.Arbitrary<string[]> =
    names.length === 0
      ? fc.constant([])
      : fc.constantFrom(...names).chain((name): fc.Arbitrary<string[]> => {
          const value = spec.flags[name];
          return value === null ? fc.constant([name]) : value.map((v) => [name, v]);
        });
  return fc
    .tuple(fc.array(flag, { maxLength: 5 }), spec.fixed, spec.args ?? fc.constant([]), fc.nat(19))
    .map(([flags, fixed, args, extra]) => [spec.name, ...args, ...flags.flat(), ...fixed, ...(extra === 0 ? ['--help'] : extra === 1 ? ['--no-such-flag'] : [])]);
});

test('random subsets of each command\'s flags with random values: exit 0, 1 or 2, never a crash or a stack trace', { timeout: NO_HANG_MS }, async () => {
  const codes = new Set<number>();
  await fc.assert(
    fc.asyncProperty(argv, async (args) => {
      const r = await call(args);
      assertClean(r);
      codes.add(r.code);
      if (r.code === 2) {
        // Refused input leaves no output file behind (not even a temporary one).
        for (let i = 0; i < args.length - 1; i++) {
          if (['--html', '--checkpoint'].includes(args[i]) && args[i + 1].startsWith(join(dir, 'out'))) {
            assert.equal(existsSync(args[i + 1]), false, `${args[i]} ${args[i + 1]} written on exit 2: ${r.err}`);
          }
        }
        assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
      }
    }),
    { ...FUZZ, numRuns: 600 },
  );
  assert.deepEqual([...codes].sort(), [0, 1, 2], 'the generator reaches results, findings and refusals');
});
