/**
 * `--shard I/N`, or `--shard auto`: the index and count from the environment a batch engine gives
 * each task of an array job (docs/sharding.md has a ready manifest or script for each):
 *  - KPTSIM_SHARD_INDEX and KPTSIM_SHARD_COUNT, set by hand or from a GitHub Actions matrix;
 *  - Slurm job arrays: SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT (and SLURM_ARRAY_TASK_MIN, the
 *    first index, when the array does not start at 0);
 *  - Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX, with the count in KPTSIM_SHARD_COUNT (the
 *    manifest sets it to the Job's completions: Kubernetes does not expose that number).
 */
import { InvalidArgumentError } from 'commander';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

function int(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`--shard auto: ${name}=${v} is not a non-negative integer`);
  return Number(v);
}

function checked(index: number, count: number | undefined, from: string, countName: string): Shard {
  if (count === undefined) throw new InvalidArgumentError(`--shard auto: ${from} gives the index (${index}) but ${countName} is not set: how many shards are there?`);
  if (count < 1 || index >= count) throw new InvalidArgumentError(`--shard auto: index ${index} from ${from} is not below the count ${count} (${countName})`);
  return { index, count };
}

/** The shard a batch engine's environment names; throws naming the variables when there is none. */
export function shardFromEnvironment(env: NodeJS.ProcessEnv): Shard {
  const explicit = int(env, 'KPTSIM_SHARD_INDEX');
  if (explicit !== undefined) return checked(explicit, int(env, 'KPTSIM_SHARD_COUNT'), 'KPTSIM_SHARD_INDEX', 'KPTSIM_SHARD_COUNT');
  const slurm = int(env, 'SLURM_ARRAY_TASK_ID');
  if (slurm !== undefined) {
    const first = int(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    if (slurm < first) throw new InvalidArgumentError(`--shard auto: SLURM_ARRAY_TASK_ID ${slurm} is below SLURM_ARRAY_TASK_MIN ${first}`);
    return checked(slurm - first, int(env, 'SLURM_ARRAY_TASK_COUNT'), 'SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_COUNT');
  }
  const k8s = int(env, 'JOB_COMPLETION_INDEX');
  if (k8s !== undefined) return checked(k8s, int(env, 'KPTSIM_SHARD_COUNT'), 'JOB_COMPLETION_INDEX', 'KPTSIM_SHARD_COUNT');
  throw new InvalidArgumentError('--shard auto: no shard in the environment (KPTSIM_SHARD_INDEX/KPTSIM_SHARD_COUNT, SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX with KPTSIM_SHARD_COUNT)');
}

/** The --shard flag's parser: I/N, or auto from the environment. */
export function parseShard(value: string, env: NodeJS.ProcessEnv = process.env): Shard {
  if (value === 'auto') return shardFromEnvironment(env);
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || count < 1 || index >= count) throw new InvalidArgumentError(`--shard expects I/N with 0 <= I < N, or auto, got '${value}'`);
  return { index, count };
}
