/**
 * Pure: a rendition's result as its transcoder Pod reports it. A rendition that succeeds writes its
 * rendition.json (compact JSON, at most MAX_TERMINATION_MESSAGE_BYTES) to the termination-message
 * path; the kubelet puts it into the Pod's status as soon as the container exits. The operator counts
 * the rendition done from that (a Pod informer, controller.ts) instead of waiting for the Job
 * controller's Complete condition, which comes some hundreds of milliseconds later (it first removes
 * the Pod's tracking finalizer and counts it). A Job's Complete condition still counts as before; a
 * missing, oversized, truncated or malformed message is ignored (no crash, no failure): the rendition
 * then counts when its Job is Complete.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import {
  LABELS,
  MAX_TERMINATION_MESSAGE_BYTES,
  RENDITIONS,
  renditionMetadataSchema,
  type RenditionMetadata,
  type RenditionName,
} from '../../common/video/index.js';
import { stripManagedFields } from '../runtime/objects.js';
import { CONTAINER_NAME, MANAGED_BY } from './jobs.js';

/** The Pod informer's selector: rendition Pods of the operator's Jobs only (memory stays bounded). */
export const RENDITION_PODS_SELECTOR = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.rendition}`;

/** What a rendition Pod that succeeded reports. */
export interface PodResult {
  /** The Job that controls the Pod: its name and uid (a Job re-created under the same name has another). */
  job: string;
  jobUid: string;
  rendition: RenditionName;
  metadata: RenditionMetadata;
}

/**
 * The rendition.json a termination message carries, if it is one for this rendition: not over the
 * kubelet's limit (a longer one arrives truncated), valid JSON, matching the schema and the name.
 */
export function parseRenditionMessage(
  message: string | undefined,
  rendition: string,
): RenditionMetadata | undefined {
  if (!message || Buffer.byteLength(message, 'utf8') > MAX_TERMINATION_MESSAGE_BYTES) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return undefined;
  }
  const parsed = renditionMetadataSchema.safeParse(json);
  return parsed.success && parsed.data.name === rendition ? parsed.data : undefined;
}

/** The Job controlling a Pod (name and uid), from its controller ownerReference. */
export function jobOf(pod: V1Pod): { name: string; uid: string } | undefined {
  const ref = pod.metadata?.ownerReferences?.find(
    (r) => r.controller && r.kind === 'Job' && r.apiVersion === 'batch/v1',
  );
  return ref ? { name: ref.name, uid: ref.uid } : undefined;
}

/** The transcoder container's terminated state, if it has terminated. */
function terminated(pod: V1Pod) {
  return pod.status?.containerStatuses?.find((c) => c.name === CONTAINER_NAME)?.state?.terminated;
}

/**
 * A rendition Pod's result: the Pod Succeeded, its transcoder exited 0 and left a valid rendition.json
 * for the rung its labels name as its termination message. Anything else: undefined.
 */
export function podResult(pod: V1Pod): PodResult | undefined {
  const rendition = pod.metadata?.labels?.[LABELS.rendition];
  if (!rendition || !(RENDITIONS as readonly string[]).includes(rendition)) return undefined;
  if (pod.status?.phase !== 'Succeeded') return undefined;
  const t = terminated(pod);
  if (!t || t.exitCode !== 0) return undefined;
  const job = jobOf(pod);
  if (!job) return undefined;
  const metadata = parseRenditionMessage(t.message, rendition);
  if (!metadata) return undefined;
  return { job: job.name, jobUid: job.uid, rendition: rendition as RenditionName, metadata };
}

/**
 * What the Pod cache keeps: metadata (without managedFields and annotations), the phase and the
 * transcoder's terminated state; its message only when the Pod succeeded and it is within the
 * kubelet's limit (a failure's message is read from the API server when needed, observe.ts). At
 * most about 5 KiB per Pod, whatever the Pod spec holds.
 */
/** The label the Job controller puts on each Pod of an Indexed Job (a chunked rendition's chunk Pods). */
export const JOB_COMPLETION_INDEX_LABEL = 'batch.kubernetes.io/job-completion-index';

export function slimPod(pod: V1Pod): V1Pod {
  stripManagedFields(pod);
  const md = pod.metadata ?? {};
  const t = terminated(pod);
  const keepMessage =
    // a chunk Pod's message is its chunk's metadata, never a rendition.json: not kept (issue 24)
    md.labels?.[JOB_COMPLETION_INDEX_LABEL] === undefined &&
    pod.status?.phase === 'Succeeded' &&
    t?.exitCode === 0 &&
    t.message !== undefined &&
    Buffer.byteLength(t.message, 'utf8') <= MAX_TERMINATION_MESSAGE_BYTES;
  return {
    metadata: {
      name: md.name,
      namespace: md.namespace,
      uid: md.uid,
      resourceVersion: md.resourceVersion,
      labels: md.labels,
      ownerReferences: md.ownerReferences,
      ...(md.deletionTimestamp ? { deletionTimestamp: md.deletionTimestamp } : {}),
    },
    status: {
      ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
      ...(t
        ? {
            containerStatuses: [
              {
                name: CONTAINER_NAME,
                image: '',
                imageID: '',
                ready: false,
                restartCount: 0,
                state: {
                  terminated: {
                    exitCode: t.exitCode,
                    ...(t.finishedAt ? { finishedAt: t.finishedAt } : {}),
                    ...(keepMessage ? { message: t.message } : {}),
                  },
                },
              },
            ],
          }
        : {}),
    },
  };
}

/** Whether a Pod update changes its result (most updates are Pending → Running → ...: no reconcile). */
export function podResultChanged(old: V1Pod, now: V1Pod): boolean {
  return JSON.stringify(podResult(old) ?? null) !== JSON.stringify(podResult(now) ?? null);
}

/**
 * Results of these Pods for these Jobs (by Job name; the Pod's controlling Job must be the Job of
 * that name now, by uid, so a result of a Job deleted and re-created by a retry does not count).
 */
export function podResultsFor(
  pods: readonly V1Pod[],
  jobs: ReadonlyMap<string, V1Job>,
): Map<string, RenditionMetadata> {
  const out = new Map<string, RenditionMetadata>();
  for (const pod of pods) {
    const r = podResult(pod);
    if (r && jobs.get(r.job)?.metadata?.uid === r.jobUid) out.set(r.job, r.metadata);
  }
  return out;
}
