import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeToken,
  encodeToken,
  RandomScheduler,
  ReplayDivergence,
  replayToken,
  TokenError,
  TokenReplayScheduler,
  tokenLabel,
} from '../../../src/explore/index.ts';
import type { Choice } from '../../../src/sim/index.ts';
import { counter, program, writers } from './programs.ts';

function randomRun(seed: number) {
  const p = counter(3, false);
  const s = new RandomScheduler(seed, 1);
  s.beginExecution(0);
  return { p, result: p.build(s).run() };
}

test('a token round-trips: it keeps the departures from the default schedule, and its label reads back', () => {
  const pick = (options: string[], chosen: number): Choice => ({ kind: 'thread', reason: 'schedule', options, chosen });
  const choices: Choice[] = [
    pick(['a', 'b'], 0), // default: the first runnable
    pick(['a', 'b'], 0), // default: a keeps running
    pick(['a', 'b'], 1), // departure: b preempts a
    { kind: 'data', reason: 'alloc_pages GFP_ATOMIC', options: ['ok', 'fail'], chosen: 1 }, // departure
    pick(['b'], 0), // forced
    pick(['a', 'b'], 0), // departure: b could keep running
  ];
  const token = encodeToken('id', choices, '["seed","vfree-huge-vmap"]');
  assert.match(token, /^kpt1\.[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeToken(token, 'id'), {
    total: 6,
    multi: 5,
    departures: [
      { at: 2, options: 2, chosen: 1 },
      { at: 3, options: 2, chosen: 1 },
      { at: 4, options: 2, chosen: 0 },
    ],
    scheduleHash: decodeToken(token, 'id').scheduleHash,
  });
  assert.equal(tokenLabel(token), '["seed","vfree-huge-vmap"]');
});

test('replaying a token reproduces the same choices and the same violation', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const { p, result } = randomRun(seed);
    const { result: again } = replayToken(p, encodeToken(p.identity, result.choices));
    assert.deepEqual(again.choices, result.choices, `seed ${seed}`);
    assert.deepEqual(again.violations, result.violations, `seed ${seed}`);
  }
});

test('a token costs nothing per default pick and two bytes per departure among up to 15 options', () => {
  const choices: Choice[] = [];
  const expected: number[][] = [];
  let current = 0;
  for (let i = 0; i < 3000; i++) {
    const options = Array.from({ length: 2 + (i % 14) }, (_, k) => `t${k}`);
    // Keep running the current thread (the default), except every 100th pick switches t0 <-> t1.
    if (i % 100 === 99) {
      current = 1 - current;
      expected.push([i, options.length, current]);
    }
    choices.push({ kind: 'thread', reason: 'schedule', options, chosen: current });
  }
  const token = encodeToken('x', choices);
  const departures = decodeToken(token, 'x').departures;
  assert.equal(departures.length, 30);
  // label length, total, multi, count (1 + 2 + 2 + 1 bytes), 2 bytes per departure, 12 bytes of hashes.
  assert.equal(Buffer.from(token.slice(5), 'base64url').length, 6 + 2 * 30 + 12);
  assert.deepEqual(
    departures.map((d) => [d.at, d.options, d.chosen]),
    expected,
  );
});

test('a token of another format version is refused by name', () => {
  const { p, result } = randomRun(1);
  const token = encodeToken(p.identity, result.choices).replace(/^kpt1\./, 'kpt2.');
  assert.throws(() => decodeToken(token, p.identity), (e: unknown) => e instanceof TokenError && e.message === 'token is format kpt2, this kptsim reads kpt1');
  assert.throws(() => decodeToken('hello', p.identity), /^TokenError: not a kptsim replay token \(expected kpt1\.<payload>\)$/);
});

test('a truncated token is refused as corrupt, at every length', () => {
  const { p, result } = randomRun(2);
  const token = encodeToken(p.identity, result.choices);
  for (let n = 'kpt1.'.length; n < token.length; n++) {
    assert.throws(() => decodeToken(token.slice(0, n), p.identity), /^TokenError: token is corrupt \(.*\): was it truncated or altered\?$/, `length ${n}`);
  }
});

test('a token with any single bit flipped in any character is refused, never misread', () => {
  const { p, result } = randomRun(3);
  const token = encodeToken(p.identity, result.choices);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 'kpt1.'.length; i < token.length; i++) {
    const v = alphabet.indexOf(token[i]);
    for (let bit = 0; bit < 6; bit++) {
      const flipped = token.slice(0, i) + alphabet[v ^ (1 << bit)] + token.slice(i + 1);
      assert.throws(() => decodeToken(flipped, p.identity), TokenError, `char ${i} bit ${bit}`);
    }
  }
  assert.throws(() => decodeToken(token.slice(0, -1) + '!', p.identity), /a character outside base64url/);
});

test('a token recorded on another program (design/scenario) is refused', () => {
  const { p, result } = randomRun(4);
  const token = encodeToken(p.identity, result.choices);
  assert.throws(() => decodeToken(token, counter(3, true).identity), /^TokenError: token was recorded for a different design\/scenario$/);
});

test('a token replayed on a model that offers other options diverges loudly, with the step', () => {
  // Same identity, different program: replay must notice, not run something else.
  const s = new RandomScheduler(9, 1);
  s.beginExecution(0);
  const two = writers([2, 2]);
  const r = two.build(s).run();
  const token = encodeToken('same', r.choices);
  const three = program('same', [
    { name: 't0', body: function* (w) { yield* w.write('x', 1); } },
    { name: 't1', body: function* (w) { yield* w.write('x', 1); } },
    { name: 't2', body: function* (w) { yield* w.write('x', 1); } },
  ]);
  assert.throws(() => replayToken(three, token), (e: unknown) => e instanceof ReplayDivergence && /^replay diverged at step \d+: recorded a choice among 2 options, model offers thread schedule among \[t0,t1,t2\]$/.test(e.message));
});

test('a token whose schedule ends early, or runs past its end, is a divergence', () => {
  const s = new RandomScheduler(1, 1);
  s.beginExecution(0);
  const p = writers([2, 2]);
  const r = p.build(s).run();
  const short = encodeToken(p.identity, r.choices.slice(0, r.choices.length - 2));
  assert.throws(() => replayToken(p, short), /^ReplayDivergence: replay diverged at step \d+: recorded schedule ended/);
  const long: Choice[] = [...r.choices, { kind: 'thread', reason: 'schedule', options: ['t0'], chosen: 0 }];
  assert.throws(() => replayToken(p, encodeToken(p.identity, long)), /^ReplayDivergence: replay diverged: the execution ended \(quiescent\) after \d+ choices, the token recorded \d+$/);
  // A schedule with the same shape but other names is caught by the schedule hash at the end.
  const renamed = r.choices.map((c) => ({ ...c, options: c.options.map((o) => `${o}'`) }));
  const scheduler = new TokenReplayScheduler(decodeToken(encodeToken(p.identity, renamed), p.identity));
  scheduler.beginExecution(0);
  const replayed = p.build(scheduler).run();
  assert.throws(() => scheduler.checkEnd(replayed), /schedule hash differs/);
});
