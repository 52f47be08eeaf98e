/** `kptsim designs` and `kptsim scenarios`: one line each. */
import type { Command } from 'commander';
import { BUILTIN_ALIASES, BUILTIN_DESIGNS, BUILTIN_SCENARIOS, builtinScenario } from '../job/inputs.ts';
import type { CliContext } from './context.ts';

export function listCommands(program: Command, ctx: CliContext): void {
  program
    .command('designs')
    .description('list the built-in designs: name, summary, the kernel release, the hooks each overrides, source; then the other names')
    .action(() => {
      const width = Math.max(...BUILTIN_DESIGNS.map((d) => d.name.length));
      const pad = ''.padEnd(width);
      for (const d of BUILTIN_DESIGNS) {
        const hooks = d.overrides.length ? d.overrides.join(', ') : 'none';
        // Every built-in design names its release; a design that names none runs the default one.
        const kernel = d.kernel?.name ?? 'the default release';
        ctx.out(`${d.name.padEnd(width)}  ${d.summary}\n${pad}  kernel: ${kernel}\n${pad}  overrides: ${hooks}\n${pad}  source: ${d.source}\n`);
      }
      for (const a of BUILTIN_ALIASES) ctx.out(`${a.design.name.padEnd(width)}  another name for ${a.of}\n`);
    });
  program
    .command('scenarios')
    .description('list the built-in scenarios')
    .action(() => {
      const width = Math.max(...BUILTIN_SCENARIOS.map((s) => s.name.length));
      for (const file of BUILTIN_SCENARIOS) {
        const s = builtinScenario(file.name)!;
        ctx.out(`${s.name.padEnd(width)}  ${s.summary}\n`);
      }
    });
}
