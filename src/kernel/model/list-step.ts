/**
 * A list helper on a shared list run as a step of its own (docs/kernel/preemption-and-races.md, Torn
 * lists). Model scaffolding, not a kernel function: reports' call stacks leave it out, and the
 * callback it runs is its caller's own code (src/sim/stack.ts).
 */
import type { ListArena, ListHead } from '../include/linux/list.ts';
import { step, type Sim } from '../../sim/index.ts';

/**
 * Runs `helper` (list helpers on the list at `head`; the caller holds the lock that protects it,
 * or should) in a step on the list's object. The helper runs whole within that step, unless the
 * scenario sets `config.tornLists`: then its loads and DEBUG_LIST checks run in that step and each
 * of its stores is a step of its own after it, in program order, so another CPU's access to the list
 * can fall between two of them, as it can in C when the lock is missing. The store steps are on
 * that object too: dpor orders them against every other step on the list, and, the list being data, they
 * order nothing else (src/sim/happens-before.ts).
 */
export function* list_step<R>(l: ListArena, label: string, head: ListHead, helper: () => R): Sim<R> {
  const obj = l.objOf(head);
  yield step(label, 'write', obj);
  if (!l.torn) return helper();
  const stores: number[] = (l.pending = []);
  let result: R;
  try {
    result = helper();
  } finally {
    l.pending = null;
  }
  for (let i = 0; i < stores.length; i += 3) {
    const node = stores[i];
    const field = stores[i + 1];
    const value = stores[i + 2];
    yield step(`${label}: ${l.describeWord(node * 2 + field)} = ${l.describe(value)}`, 'write', obj);
    l.store(node, field, value);
  }
  return result;
}
