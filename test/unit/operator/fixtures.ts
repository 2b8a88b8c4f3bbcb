/** Shared fixtures for the operator's unit tests (no I/O). */
import type { V1Job } from '@kubernetes/client-node';
import {
  API_VERSION,
  FINALIZER,
  KIND,
  type RenditionMetadata,
  type Video,
  type VideoStatus,
} from '../../../common/video/index.js';
import { decide, type DecideSettings, type Observed } from '../../../operator/video/decide.js';
import { DEFAULT_RESOURCES, type JobSettings } from '../../../operator/video/jobs.js';

export const UID = '0d46d1de-bea1-4aa3-8037-bd5d64d689c0';
export const NOW = new Date('2026-11-26T08:00:00.000Z');

export const settings: JobSettings = {
  image: 'videoflix-transcoder:test',
  imagePullPolicy: 'IfNotPresent',
  serviceAccountName: 'videoflix-transcoder',
  storageSecretName: 'videoflix-storage',
  accessKeyKey: 'S3_ACCESS_KEY',
  secretKeyKey: 'S3_SECRET_KEY',
  s3Endpoint: 'http://s3.example:7070',
  s3Region: 'us-east-1',
  mediaBucket: 'videoflix-media',
  backoffLimit: 2,
  activeDeadlineSeconds: { thumbnail: 600, rendition: 3600 },
  runAsUser: 1000,
  runAsGroup: 1000,
  resources: DEFAULT_RESOURCES,
  instance: 'videoflix',
  tmpSizeLimit: '4Gi',
};

export function video(
  over: Partial<Video['metadata']> = {},
  spec: Partial<Video['spec']> = {},
  status?: Video['status'],
): Video {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: {
      name: 'demo',
      namespace: 'media',
      uid: UID,
      generation: 1,
      resourceVersion: '100',
      finalizers: [FINALIZER],
      ...over,
    },
    spec: {
      title: 'Demo',
      source: { bucket: 'videoflix-sources', key: 'up/demo.mp4' },
      renditions: ['480p', '720p', '1080p'],
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

type JobCond = 'Complete' | 'Failed' | undefined;
export function job(
  name: string,
  cond: JobCond,
  reason = 'BackoffLimitExceeded',
  message = 'Job has reached the specified backoff limit',
): V1Job {
  const conditions =
    cond === 'Complete'
      ? [{ type: 'Complete', status: 'True' }]
      : cond === 'Failed'
        ? [
            { type: 'FailureTarget', status: 'True', reason, message },
            { type: 'Failed', status: 'True', reason, message },
          ]
        : [];
  return { metadata: { name, namespace: 'media' }, status: { conditions } };
}

export const jobs = (...list: V1Job[]) => new Map(list.map((j) => [j.metadata?.name ?? '', j]));

export function meta(name: '480p' | '720p' | '1080p', starts = [0, 6, 12]): RenditionMetadata {
  const dims = {
    '480p': [854, 480, 1_500_000],
    '720p': [1280, 720, 3_000_000],
    '1080p': [1920, 1080, 5_400_000],
  }[name];
  return {
    name,
    width: dims[0]!,
    height: dims[1]!,
    bandwidth: dims[2]!,
    averageBandwidth: Math.round(dims[2]! * 0.8),
    codecs: 'avc1.640028,mp4a.40.2',
    frameRate: 25,
    segmentDuration: 6,
    segmentStarts: starts,
  };
}

/** What observe() would hand decide(): the Video, no Jobs, NOW, and whatever `o` adds. */
export const obs = (v: Video, o: Partial<Observed> = {}): Observed => ({
  video: v,
  jobs: new Map(),
  now: NOW,
  ...o,
});

/** decide()'s actions, a CreateJob named by its task: `CreateJob:480p`. */
export const types = (d: ReturnType<typeof decide>) =>
  d.actions.map((a) => (a.type === 'CreateJob' ? `CreateJob:${a.task}` : a.type));

export const cond = (s: VideoStatus | undefined, t: string) => s?.conditions?.find((c) => c.type === t);

/** Runs decide with settings `S` and feeds its status back, as the API server would store it. */
export const stepper =
  (S: DecideSettings) =>
  (v: Video, o: Partial<Observed> = {}) => {
    const d = decide(obs(v, o), S);
    return { d, next: { ...v, status: d.status ?? v.status } as Video };
  };
