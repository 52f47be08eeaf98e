import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BAR_WIDTH, formatDuration, progressText } from '../../../src/report/progress-text.ts';

const bar = (cells: number) => `[${'█'.repeat(cells)}${'░'.repeat(BAR_WIDTH - cells)}]`;

test('with a budget: the fraction of it used, the executions of the budget, the time so far and the ETA at the rate so far', () => {
  // 50 of 200 in 2 s: 25 per second, 150 to go, 6 s.
  assert.equal(progressText({ executions: 50, violations: 1 }, { budget: 200 }, 2000), `${bar(5)}  25% | 50/200 executions | 2.0 s, ETA 6.0 s | 25.0/s | violations 1`);
  // The budget spent: 100%, nothing left to wait for.
  assert.equal(progressText({ executions: 200, violations: 1 }, { budget: 200 }, 8000), `${bar(20)} 100% | 200/200 executions | 8.0 s, ETA 0.0 s | 25.0/s | violations 1`);
});

test('at the very start the line is already there: 0% and no rate or ETA yet for a budget, the whole time for --time', () => {
  assert.equal(progressText({ executions: 0, violations: 0 }, { budget: 200 }, 12), `${bar(0)}   0% | 0/200 executions | 0.0 s, ETA ? | – /s | violations 0`);
  assert.equal(progressText({ executions: 0, violations: 0 }, { budget: 200 }, 0), `${bar(0)}   0% | 0/200 executions | 0.0 s, ETA ? | – /s | violations 0`);
  assert.equal(progressText({ executions: 0, violations: 0 }, { timeMs: 30_000 }, 0), `${bar(0)}   0% | 0 executions | 0.0 s of 30 s, ETA 30 s | – /s | violations 0`);
});

test('with --time: the fraction of the time used and the time left; with both bounds, whichever is nearer', () => {
  assert.equal(progressText({ executions: 300, violations: 0 }, { timeMs: 30_000 }, 7500), `${bar(5)}  25% | 300 executions | 7.5 s of 30 s, ETA 22 s | 40.0/s | violations 0`);
  // The budget would take 9 s more at 100/s (10% used), the time runs out in 4 s (20% used): the time is the nearer bound.
  assert.equal(
    progressText({ executions: 100, violations: 2 }, { budget: 1000, timeMs: 5000 }, 1000),
    `${bar(4)}  20% | 100/1000 executions | 1.0 s of 5.0 s, ETA 4.0 s | 100/s | violations 2`,
  );
  assert.equal(
    progressText({ executions: 900, violations: 2 }, { budget: 1000, timeMs: 60_000 }, 9000),
    `${bar(18)}  90% | 900/1000 executions | 9.0 s of 1 m 00 s, ETA 1.0 s | 100/s | violations 2`,
  );
});

test('without a budget or a time (dfs, dpor): no bar and no ETA, the executions, the rate and the coverage estimate', () => {
  assert.equal(progressText({ executions: 12, violations: 0, coverage: 0.035 }, {}, 500), '12 executions | 0.5 s | 24.0/s | violations 0 | coverage 3.5%');
  assert.equal(progressText({ executions: 3, violations: 0 }, {}, 1500), '3 executions | 1.5 s | 2.00/s | violations 0');
});

test('a resumed run: the executions it started with count toward the budget but not toward the rate', () => {
  // 150 of 200, 50 of them in this run's 5 s: 10 per second, 50 to go, 5 s.
  assert.equal(progressText({ executions: 150, violations: 1 }, { budget: 200, startExecutions: 100 }, 5000), `${bar(15)}  75% | 150/200 executions | 5.0 s, ETA 5.0 s | 10.0/s | violations 1`);
});

test('a fake clock ticking through a run: each line follows the clock alone', () => {
  const lines = [0, 250, 500, 1000].map((t, i) => progressText({ executions: i * 10, violations: 0 }, { budget: 40 }, t));
  assert.deepEqual(lines, [
    `${bar(0)}   0% | 0/40 executions | 0.0 s, ETA ? | – /s | violations 0`,
    `${bar(5)}  25% | 10/40 executions | 0.3 s, ETA 0.8 s | 40.0/s | violations 0`,
    `${bar(10)}  50% | 20/40 executions | 0.5 s, ETA 0.5 s | 40.0/s | violations 0`,
    `${bar(15)}  75% | 30/40 executions | 1.0 s, ETA 0.3 s | 30.0/s | violations 0`,
  ]);
});

test('durations read as people say them', () => {
  assert.deepEqual([0, 450, 9_949, 12_300, 59_999, 65_000, 3_600_000 + 125_000].map(formatDuration), ['0.0 s', '0.5 s', '9.9 s', '12 s', '59 s', '1 m 05 s', '1 h 02 m']);
});
