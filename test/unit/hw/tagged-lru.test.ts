import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TaggedLru } from '../../../src/hw/index.ts';

const keys = (c: TaggedLru<string>) => [...c.entries()].map((e) => `${e.tag}:${e.key}`);

test('a full cache evicts the least recently used entry, across tags, in order of use', () => {
  const c = new TaggedLru<string>(3);
  c.set(1, 10, 'a');
  c.set(2, 10, 'b');
  c.set(1, 11, 'c');
  assert.equal(c.get(1, 10), 'a'); // now most recent
  c.set(3, 12, 'd'); // evicts 2:10
  assert.deepEqual(keys(c), ['1:11', '1:10', '3:12']);
  assert.equal(c.get(2, 10), undefined);
  assert.equal(c.peek(1, 11), 'c');
  c.set(4, 0, 'e'); // peek did not refresh 1:11, so it goes
  assert.deepEqual(keys(c), ['1:10', '3:12', '4:0']);
});

test('replacing an entry refreshes it without growing the cache', () => {
  const c = new TaggedLru<string>(2);
  c.set(0, 1, 'x');
  c.set(0, 2, 'y');
  c.set(0, 1, 'x2');
  assert.deepEqual([c.size, ...keys(c)], [2, '0:2', '0:1']);
  assert.equal(c.peek(0, 1), 'x2');
});

test('invalidations: delete one, delete by predicate, delete a tag, clear', () => {
  const c = new TaggedLru<string>(8);
  for (let k = 0; k < 4; k++) c.set(k % 2, k, `v${k}`);
  assert.equal(c.delete(0, 0), true);
  assert.equal(c.delete(0, 0), false);
  assert.equal(c.deleteWhere((_t, k) => k === 3), 1);
  assert.equal(c.deleteTag(0), 1);
  assert.deepEqual(keys(c), ['1:1']);
  c.clear();
  assert.equal(c.size, 0);
  c.set(9, 9, 'z');
  assert.deepEqual(keys(c), ['9:9']);
});

test('a cache of capacity 0 is an implementation without that cache: it never holds anything', () => {
  const c = new TaggedLru<string>(0);
  c.set(0, 0, 'x');
  assert.equal(c.get(0, 0), undefined);
  assert.equal(c.size, 0);
});
