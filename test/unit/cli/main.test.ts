import assert from 'node:assert/strict';
import { test } from 'node:test';
import { INTERNAL_ERROR, main } from '../../../src/cli/main.ts';
import type { CliContext } from '../../../src/cli/context.ts';

test('an exception outside any design hook is a kptsim bug: exit 70 with the error, never 1 (which means a violation)', async () => {
  let err = '';
  const ctx: CliContext = {
    exitCode: 0,
    out: () => {
      throw new RangeError('the output sink broke');
    },
    err: (s) => {
      err += s;
    },
  };
  const code = await main(['designs'], ctx);
  assert.equal(code, INTERNAL_ERROR);
  assert.match(err, /^kptsim: internal error, a bug in kptsim \(please report it with the command\): RangeError: the output sink broke\n/);
});
