/** Pure: what the operator's gauges show of the caches (Jobs by task and outcome, Videos by phase). */
import type { V1Job } from '@kubernetes/client-node';
import type { Video } from '../../common/video/index.js';
import { jobOutcome } from './decide.js';
import { THUMBNAIL_TASK } from './jobs.js';

export function jobsByOutcome(
  jobs: readonly V1Job[],
): Array<{ task: string; outcome: string; count: number }> {
  const counts = new Map<string, number>();
  for (const j of jobs) {
    const task = j.metadata?.labels?.['media.videoflix.io/rendition'] ?? THUMBNAIL_TASK;
    const k = `${task}|${jobOutcome(j).state}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, count]) => {
    const [task = '', outcome = ''] = k.split('|');
    return { task, outcome, count };
  });
}

export function videosByPhase(videos: readonly Video[]): Record<string, number> {
  const r: Record<string, number> = { Pending: 0, Processing: 0, Ready: 0, Failed: 0 };
  for (const v of videos) {
    const p = v.status?.phase ?? 'Pending';
    r[p] = (r[p] ?? 0) + 1;
  }
  return r;
}
