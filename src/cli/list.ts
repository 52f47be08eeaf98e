/** `kptsim designs` and `kptsim scenarios`: one line each. */
import type { Command } from 'commander';
import { BUILTIN_DESIGNS, BUILTIN_SCENARIOS, builtinScenario } from '../job/inputs.ts';
import type { CliContext } from './context.ts';

export function listCommands(program: Command, ctx: CliContext): void {
  program
    .command('designs')
    .description('list the built-in designs: name, summary, the hooks each overrides, source')
    .action(() => {
      const width = Math.max(...BUILTIN_DESIGNS.map((d) => d.name.length));
      for (const d of BUILTIN_DESIGNS) {
        const hooks = d.overrides.length ? d.overrides.join(', ') : 'none';
        ctx.out(`${d.name.padEnd(width)}  ${d.summary}\n${''.padEnd(width)}  overrides: ${hooks}\n${''.padEnd(width)}  source: ${d.source}\n`);
      }
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
