import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CostModelError, DEFAULT_COSTS, StepCosts, loadCostModel } from '../../../src/measure/cost-model.ts';
import { NO_OBJECT, step } from '../../../src/sim/index.ts';

test('an empty cost file keeps every default', () => {
  assert.deepEqual(loadCostModel('', 'costs.yaml'), DEFAULT_COSTS);
});

test('a YAML cost file overrides only the costs it names', () => {
  const m = loadCostModel('iommuInvDevtlb: 5000\nworkqueueWakeup: 1e6\n', 'costs.yaml');
  assert.equal(m.iommuInvDevtlb, 5000);
  assert.equal(m.workqueueWakeup, 1e6);
  assert.equal(m.pageAlloc, DEFAULT_COSTS.pageAlloc);
});

test('a JSON cost file is accepted (JSON is YAML)', () => {
  assert.equal(loadCostModel('{"dma": 900}', 'costs.json').dma, 900);
});

test('an unknown cost is refused, naming the field and the file', () => {
  assert.throws(() => loadCostModel('iommuInvalidationWait: 10', 'costs.yaml'), (e: unknown) => {
    assert.ok(e instanceof CostModelError);
    assert.match(e.message, /^costs\.yaml: iommuInvalidationWait: unknown cost \(expected one of pageAlloc, /);
    return true;
  });
});

test('a negative or non-numeric cost is refused, naming the field', () => {
  assert.throws(() => loadCostModel('pageFree: -1', 'c.yaml'), /^CostModelError: c\.yaml: pageFree: .*, got -1$/);
  assert.throws(() => loadCostModel('lockHandoff: fast', 'c.yaml'), /^CostModelError: c\.yaml: lockHandoff: .*, got "fast"$/);
  assert.throws(() => loadCostModel('[1, 2]', 'c.yaml'), /^CostModelError: c\.yaml: \(top level\): /);
});

test('text that is not YAML is refused, naming the file', () => {
  assert.throws(() => loadCostModel('{ dma: [', 'bad.yaml'), /^CostModelError: bad\.yaml: not valid YAML or JSON/);
});

test('steps are costed by label, then by frame or other object, then by access kind', () => {
  const c = new StepCosts({ ...DEFAULT_COSTS, iommuInvDevtlb: 3001, pteWrite: 7, otherWrite: 3, lockAcquire: 20, lockHandoff: 100 });
  assert.equal(c.of(step('qi_dev_iotlb_inv', 'write', 1 << 25), false), 3001);
  assert.equal(c.of(step('set_pmd', 'write', 0x1a3), false), 7, 'a kernel write into a frame is a page-table entry write');
  assert.equal(c.of(step('list_add', 'write', 1 << 25), false), 3);
  assert.equal(c.of(step('spin_lock', 'acquire', 1 << 25), false), 20);
  assert.equal(c.of(step('spin_lock', 'acquire', 1 << 25), true), 120, 'a lock handed over from another CPU costs the hand-off');
  assert.equal(c.of(step('thread_start', 'local', NO_OBJECT), false), DEFAULT_COSTS.otherLocal);
});
