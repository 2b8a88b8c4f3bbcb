/**
 * How many encoder threads to ask for. libx264 sizes its thread pool from the host's CPU count
 * (1.5 × cores), which in a Pod with a CPU limit on a large node means dozens of frame threads:
 * CFS throttling and, worse, memory for every frame in flight. With a CPU quota we size the pool
 * the way x264 would for that many CPUs; without one we leave x264 alone.
 */
import { readFile } from 'node:fs/promises';

/** cgroup v2 `cpu.max`: "max 100000" (no limit) or "<quota> <period>" → CPUs, or undefined. */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (!quota || quota === 'max') return undefined;
  return cpus(Number(quota), Number(period ?? 100000));
}

/** cgroup v1 `cpu.cfs_quota_us` (-1: no limit) and `cpu.cfs_period_us` → CPUs, or undefined. */
export function parseCfs(quotaText: string, periodText: string): number | undefined {
  return cpus(Number(quotaText.trim()), Number(periodText.trim()));
}

function cpus(quota: number, period: number): number | undefined {
  if (!(Number.isFinite(quota) && quota > 0 && Number.isFinite(period) && period > 0)) return undefined;
  return quota / period;
}

/** x264's own rule (3/2 threads per CPU), at least 1. */
export function threadsForCpus(cpuCount: number): number {
  return Math.max(1, Math.floor((cpuCount * 3) / 2));
}

/** The CPU limit of this container, if any (cgroup v2, then v1). */
export async function detectCpuQuota(root = '/sys/fs/cgroup'): Promise<number | undefined> {
  const read = (p: string) => readFile(p, 'utf8').catch(() => undefined);
  const v2 = await read(`${root}/cpu.max`);
  if (v2 !== undefined) return parseCpuMax(v2);
  for (const dir of [`${root}/cpu`, `${root}/cpu,cpuacct`]) {
    const [q, p] = await Promise.all([read(`${dir}/cpu.cfs_quota_us`), read(`${dir}/cpu.cfs_period_us`)]);
    if (q !== undefined && p !== undefined) return parseCfs(q, p);
  }
  return undefined;
}

/** FFMPEG_THREADS wins; else a CPU limit decides; else undefined (x264 picks). */
export async function encoderThreads(
  explicit: number | undefined,
  root?: string,
): Promise<number | undefined> {
  if (explicit !== undefined && explicit > 0) return explicit;
  const quota = await detectCpuQuota(root);
  return quota === undefined ? undefined : threadsForCpus(quota);
}
