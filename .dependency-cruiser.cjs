// The layer rule (docs/architecture.md, Layers): a layer imports only from layers below it.
// Order, bottom to top: sim, hw, kernel, designs, check, explore, scenario, measure, job, report, cli.
const layers = ['sim', 'hw', 'kernel', 'designs', 'check', 'explore', 'scenario', 'measure', 'job', 'report', 'cli'];
const forbidden = layers.map((layer, i) => {
  const above = layers.slice(i + 1);
  return {
    name: `${layer}-imports-only-below`,
    comment: `src/${layer} may not import from a layer above it (${above.join(', ') || 'none'})`,
    severity: 'error',
    from: { path: `^src/${layer}/` },
    to: { path: above.length ? `^src/(${above.join('|')})/` : '^$' },
  };
});
// explore is mechanism over the Scheduler interface: it must not know the kernel or the hardware.
forbidden.push({
  name: 'explore-knows-only-sim',
  comment: 'src/explore drives schedulers and must not import kernel/ or hw/ (docs/architecture.md, Strategies)',
  severity: 'error',
  from: { path: '^src/explore/' },
  to: { path: '^src/(hw|kernel|designs)/' },
});
// The CLI is flags, a job and printing: it reaches the model only through the job layer.
forbidden.push({
  name: 'cli-only-over-job-and-report',
  comment: 'src/cli imports only src/job and src/report (the layers below come through src/job/inputs.ts)',
  severity: 'error',
  from: { path: '^src/cli/' },
  to: { path: '^src/(sim|hw|kernel|designs|check|explore|scenario|measure)/' },
});
// Runtime import cycles are forbidden; type-only cycles (a subsystem naming the Kernel type that
// names the subsystem) erase at compile time and are how kernel.ts ties the subsystems together.
forbidden.push({
  name: 'no-circular',
  severity: 'error',
  from: {},
  to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
});
module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
