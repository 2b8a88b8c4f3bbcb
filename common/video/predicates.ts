/** Predicates on a Video shared by the operator, the API and the tests. */
import { CONDITION_TYPES } from './constants.js';
import type { Condition, Video } from './types.js';

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * "Ready" means the operator has seen the current generation AND the Ready condition is True
 * (Strimzi's rule). `kubectl wait --for=condition=Ready` checks the second half.
 */
export function isVideoReady(video: Pick<Video, 'metadata' | 'status'>): boolean {
  const ready = findCondition(video.status?.conditions, CONDITION_TYPES.ready);
  return ready?.status === 'True' && video.status?.observedGeneration === video.metadata.generation;
}

/** Failed for good: the Failed condition is True for the current generation. */
export function isVideoFailed(video: Pick<Video, 'metadata' | 'status'>): boolean {
  const failed = findCondition(video.status?.conditions, CONDITION_TYPES.failed);
  return failed?.status === 'True' && video.status?.observedGeneration === video.metadata.generation;
}
