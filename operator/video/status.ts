/**
 * Status helpers. Conditions follow the Kubernetes API conventions: one helper sets a condition and
 * lastTransitionTime only moves when `status` changes; `phase` is derived from the conditions; the
 * status is written through `/status` with a JSON merge patch, only when it changed, guarded by the
 * resourceVersion (optimistic concurrency), retried on 409 Conflict.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  CONDITION_TYPES,
  type Condition,
  type Phase,
  type Video,
  type VideoStatus,
} from '../../common/video/index.js';

export interface ConditionInput {
  type: string;
  status: Condition['status'];
  reason: string;
  message: string;
  observedGeneration?: number;
}

/** RFC 3339 with second precision, as metav1.Time serializes. */
export const k8sTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Returns a new list with `input` set; lastTransitionTime is kept unless the status changed. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  input: ConditionInput,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === input.type);
  const existing = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: input.type,
    status: input.status,
    reason: input.reason,
    message: input.message,
    ...(input.observedGeneration !== undefined ? { observedGeneration: input.observedGeneration } : {}),
    lastTransitionTime:
      existing && existing.status === input.status ? existing.lastTransitionTime : k8sTime(now),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

/**
 * The phase shown in `kubectl get`, derived from the conditions (never the other way round). A processed
 * Video whose media disappeared (MediaAvailable=False) shows Failed, without the sticky Failed
 * condition: it is Ready again once the media are back.
 */
export function derivePhase(conditions: readonly Condition[] | undefined): Phase {
  const get = (t: string) => conditions?.find((c) => c.type === t);
  if (get(CONDITION_TYPES.failed)?.status === 'True') return 'Failed';
  if (get(CONDITION_TYPES.mediaAvailable)?.status === 'False') return 'Failed';
  if (get(CONDITION_TYPES.ready)?.status === 'True') return 'Ready';
  if (get(CONDITION_TYPES.probed) || get(CONDITION_TYPES.transcoded)) return 'Processing';
  return 'Pending';
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** RFC 7386 JSON merge patch turning `from` into `to` (objects merged, arrays replaced, removals null). */
export function createMergePatch(from: unknown, to: unknown): Json | undefined {
  const isObj = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObj(from) || !isObj(to)) {
    return isDeepStrictEqual(from, to) ? undefined : ((to ?? null) as Json);
  }
  const patch: Record<string, Json> = {};
  for (const k of Object.keys(from)) {
    if (!(k in to) || to[k] === undefined) {
      if (from[k] !== undefined) patch[k] = null;
    }
  }
  for (const [k, v] of Object.entries(to)) {
    if (v === undefined) continue;
    const sub = createMergePatch(from[k], v);
    if (sub !== undefined) patch[k] = sub;
  }
  return Object.keys(patch).length > 0 ? patch : undefined;
}

/** Removes undefined values so two statuses compare equal regardless of how they were built. */
export function normalize<T>(x: T): T {
  return JSON.parse(JSON.stringify(x ?? {})) as T;
}

export const statusChanged = (a: VideoStatus | undefined, b: VideoStatus | undefined) =>
  !isDeepStrictEqual(normalize(a ?? {}), normalize(b ?? {}));

/** The API calls the status writer needs; the real one is made from CustomObjectsApi. */
export interface StatusClient {
  get(namespace: string, name: string): Promise<Video>;
  /** Merge patch on /status; the patch carries metadata.resourceVersion for optimistic concurrency. */
  patchStatus(namespace: string, name: string, patch: unknown): Promise<Video>;
}

export class ConflictError extends Error {}

const isConflict = (err: unknown) => (err as { code?: number })?.code === 409;

/**
 * Writes `desired` as the status of `video` if it differs. On 409 (someone changed the object since
 * it was read) it re-reads the Video and retries with the fresh resourceVersion, up to `attempts`.
 * Returns the Video as stored after the write, or `undefined` when nothing had to be written.
 */
export async function writeStatus(
  client: StatusClient,
  video: Video,
  desired: VideoStatus,
  attempts = 3,
): Promise<Video | undefined> {
  let current = video;
  for (let attempt = 1; ; attempt++) {
    const patch = createMergePatch(normalize(current.status ?? {}), normalize(desired));
    if (patch === undefined) return undefined;
    try {
      return await client.patchStatus(current.metadata.namespace ?? '', current.metadata.name ?? '', {
        metadata: { resourceVersion: current.metadata.resourceVersion },
        status: patch,
      });
    } catch (err) {
      if (!isConflict(err) || attempt >= attempts) throw err;
      current = await client.get(current.metadata.namespace ?? '', current.metadata.name ?? '');
    }
  }
}
