/** The machine a benchmark ran on: CPU model and cores from /proc/cpuinfo (os.cpus() elsewhere), Node's version, its load. */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, platform } from 'node:os';

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly platform: string;
  /** 1-minute load average when the run began: how shared the cores were (timings are noisy above `cores`). */
  readonly load: number;
}

export function machine(): Machine {
  let cpu = cpus()[0]?.model ?? 'unknown';
  let cores = cpus().length;
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const model = /^model name\s*:\s*(.+)$/m.exec(info);
    if (model !== null) cpu = model[1].trim();
    const processors = info.match(/^processor\s*:/gm);
    if (processors !== null) cores = processors.length;
  } catch {
    // Not Linux: os.cpus() is what there is.
  }
  return { cpu, cores, node: process.version, platform: platform(), load: Number(loadavg()[0].toFixed(2)) };
}
