/** Pure: a pass's conditions (set in order, sorted for `kubectl describe`) and its status.retry. */
import { CONDITION_TYPES, type Condition, type RetryStatus } from '../../../common/video/index.js';
import { removeCondition, setCondition } from '../status.js';
import type { Part } from './types.js';

const ORDER: string[] = [
  CONDITION_TYPES.ready,
  CONDITION_TYPES.probed,
  CONDITION_TYPES.transcoded,
  CONDITION_TYPES.failed,
  CONDITION_TYPES.mediaAvailable,
];

export function orderConditions(c: Condition[]): Condition[] {
  const rank = (t: string) => (ORDER.includes(t) ? ORDER.indexOf(t) : ORDER.length);
  return [...c].sort((a, b) => rank(a.type) - rank(b.type));
}

/** The conditions after the parts' removals and settings, in order, each stamped with `generation`. */
export function applyConditions(
  start: readonly Condition[] | undefined,
  parts: readonly Pick<Part, 'conditions' | 'remove'>[],
  generation: number | undefined,
  now: Date,
): Condition[] {
  let list = [...(start ?? [])];
  for (const part of parts) {
    for (const type of part.remove ?? []) list = removeCondition(list, type);
    for (const c of part.conditions) list = setCondition(list, { ...c, observedGeneration: generation }, now);
  }
  return orderConditions(list);
}

/** status.retry without empty fields; undefined when nothing is left. */
export function compactRetry(r: RetryStatus): RetryStatus | undefined {
  const out: RetryStatus = {};
  if (r.attempts) out.attempts = r.attempts;
  if (r.observedAnnotation !== undefined) out.observedAnnotation = r.observedAnnotation;
  if (r.notBefore) out.notBefore = r.notBefore;
  if (r.retiredJobs?.length) out.retiredJobs = r.retiredJobs.slice(-16);
  return Object.keys(out).length ? out : undefined;
}
