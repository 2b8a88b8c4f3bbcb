/**
 * Pure: the transcoders' progress in the decided status. A running rendition gets the latest report
 * the tracker handed to this pass (`fresh`, only when a progress write is due) or keeps the one stored
 * (same Job, still running); any other rendition carries none. `progressSummary` (the PROGRESS printer
 * column) is the overall percent while the Video is Processing, absent otherwise.
 */
import {
  overallPercent,
  type Phase,
  type RenditionName,
  type RenditionProgress,
  type RenditionStatus,
} from '../../../common/video/index.js';

export function foldProgress(
  renditions: readonly RenditionStatus[],
  old: readonly RenditionStatus[] | undefined,
  fresh: ReadonlyMap<RenditionName, RenditionProgress> | undefined,
  now: Date = new Date(),
): RenditionStatus[] {
  const previous = new Map((old ?? []).map((r) => [r.name, r]));
  return renditions.map((r) => {
    const { progress: _drop, ...bare } = r;
    if (r.phase !== 'Running') return bare;
    const prev = previous.get(r.name);
    if (r.chunks) {
      // a chunked rendition: chunks done of total (its Pods send no reports); updatedAt moves only
      // when the percent does, so an unchanged count writes nothing
      const percent = Math.round((100 * r.chunks.done) / r.chunks.total);
      const same =
        prev?.phase === 'Running' && prev.progress?.percent === percent ? prev.progress : undefined;
      return { ...bare, progress: same ?? { percent, updatedAt: now.toISOString() } };
    }
    const kept = prev?.phase === 'Running' && prev.job === r.job ? prev.progress : undefined;
    const progress = fresh?.get(r.name) ?? kept;
    return progress ? { ...bare, progress } : bare;
  });
}

export function progressSummary(phase: Phase, renditions: readonly RenditionStatus[]): string | undefined {
  if (phase !== 'Processing') return undefined;
  const p = overallPercent(renditions);
  return p === undefined ? undefined : `${p}%`;
}
