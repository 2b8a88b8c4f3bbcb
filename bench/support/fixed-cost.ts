/**
 * The fixed cost per Job of time-to-ready.ts (issue 23): where a rendition's time goes besides the
 * encode, from timestamps. `Timeline` watches (cluster-wide, started before the upload) the operator's
 * Jobs and Pods and the Videos, and records when each step was first seen (ms since the epoch, this
 * process's clock; kind's node shares the host's clock, so the transcoder's own log times line up):
 *
 *   Job created → Pod started (container running) → encode started (transcoder log "encoding")
 *   encode ended ("encoding" + encodeSeconds) → Pod exit (terminated in the Pod status)
 *   → rendition counted (Succeeded in the Video's status) → Ready
 *
 * plus the Job's Complete condition, which the operator no longer waits for when the Pod's
 * termination message carries rendition.json (operator/video/pod-results.ts). `fixedCost()` is pure.
 */
import * as k8s from '@kubernetes/client-node';
import { GROUP, LABELS, PLURAL, VERSION, type Video } from '../../common/video/index.js';

/** One Job's timestamps (ms since the epoch); undefined = not seen. */
export interface JobTimes {
  /** `thumbnail` or the rendition's name. */
  task: string;
  jobCreated?: number;
  podStarted?: number;
  encodeStarted?: number;
  encodeEnded?: number;
  podExited?: number;
  jobComplete?: number;
  /** The Video's status lists the rendition Succeeded. */
  counted?: number;
}

/** What the transcoder's JSON log (pino, `time` in ms) says of one run. */
export interface TranscoderLogTimes {
  firstLog?: number;
  encodeStarted?: number;
  encodeSeconds?: number;
}

export function transcoderLogTimes(text: string): TranscoderLogTimes {
  const out: TranscoderLogTimes = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const l = JSON.parse(line) as { time?: number | string; msg?: string; encodeSeconds?: number };
      const t = typeof l.time === 'number' ? l.time : new Date(l.time ?? NaN).getTime();
      if (!Number.isFinite(t)) continue;
      out.firstLog ??= t;
      if (l.msg === 'encoding') out.encodeStarted = t;
      if (typeof l.encodeSeconds === 'number') out.encodeSeconds = l.encodeSeconds;
    } catch {
      // not JSON
    }
  }
  return out;
}

export interface FixedCost {
  /** Per rendition: each step's seconds (NaN = a timestamp missing). */
  perJob: Array<{ task: string; steps: Array<[string, number]> }>;
  /** Job created → encode started, the slowest rendition (s). */
  start: number;
  /** The last encode ended → Ready (s). */
  end: number;
  /** The steps of `end` for the rendition whose encode ended last. */
  endSteps: Array<[string, number]>;
}

const sec = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined ? NaN : (b - a) / 1000;

/** The split of each rendition Job, and the two fixed costs the goal names. */
export function fixedCost(jobs: readonly JobTimes[], ready: number): FixedCost {
  const rends = jobs.filter((j) => j.task !== 'thumbnail');
  const perJob = rends.map((j) => ({
    task: j.task,
    steps: [
      ['Job created → Pod started', sec(j.jobCreated, j.podStarted)],
      ['Pod started → encode started', sec(j.podStarted, j.encodeStarted)],
      ['encode', sec(j.encodeStarted, j.encodeEnded)],
      ['encode ended → Pod exit', sec(j.encodeEnded, j.podExited)],
      ['Pod exit → rendition counted', sec(j.podExited, j.counted)],
      ['(Pod exit → Job Complete)', sec(j.podExited, j.jobComplete)],
    ] as Array<[string, number]>,
  }));
  const start = Math.max(...rends.map((j) => sec(j.jobCreated, j.encodeStarted)));
  const last = [...rends].sort((a, b) => (b.encodeEnded ?? Infinity) - (a.encodeEnded ?? Infinity))[0];
  const lastCounted = Math.max(...rends.map((j) => j.counted ?? NaN));
  return {
    perJob,
    start,
    end: sec(last?.encodeEnded, ready),
    endSteps: last
      ? [
          ['encode ended → Pod exit', sec(last.encodeEnded, last.podExited)],
          ['Pod exit → rendition counted', sec(last.podExited, last.counted)],
          ['last rendition counted → Ready', sec(Number.isNaN(lastCounted) ? undefined : lastCounted, ready)],
        ]
      : [],
  };
}

const f = (s: number) => (Number.isFinite(s) ? `${s.toFixed(2)} s` : '?');

/** One line per rendition and one for the end, for a report row's note. */
export function describeFixedCost(c: FixedCost): string {
  const jobs = c.perJob.map((j) => `${j.task}: ${j.steps.map(([k, v]) => `${k} ${f(v)}`).join(', ')}`);
  return [
    ...jobs,
    `last encode ended → Ready: ${c.endSteps.map(([k, v]) => `${k} ${f(v)}`).join(', ')}`,
  ].join('; ');
}

const SELECTOR = `${LABELS.managedBy}=videoflix-operator`;

/** First-seen times of the operator's Jobs, their Pods and the Videos, from cluster-wide watches. */
export class Timeline {
  private readonly first = new Map<string, number>();
  private readonly reqs: AbortController[] = [];
  private stopped = false;

  constructor(private readonly kc: k8s.KubeConfig) {}

  private mark(key: string, now: number): void {
    if (!this.first.has(key)) this.first.set(key, now);
  }

  /** Starts the watches (resolves once they are connected). */
  async start(): Promise<void> {
    await Promise.all([
      this.watch(`/apis/batch/v1/jobs`, SELECTOR, (j: k8s.V1Job, now) => {
        const key = `${j.metadata?.namespace}/${j.metadata?.name}`;
        this.mark(`job:${key}`, now);
        if (j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True'))
          this.mark(`complete:${key}`, now);
      }),
      this.watch(`/api/v1/pods`, SELECTOR, (p: k8s.V1Pod, now) => {
        const job = p.metadata?.labels?.['batch.kubernetes.io/job-name'];
        if (!job) return;
        const key = `${p.metadata?.namespace}/${job}`;
        const state = p.status?.containerStatuses?.[0]?.state;
        // a container seen only once it has terminated has no start time here (time-to-ready.ts
        // then takes the transcoder's first log line)
        if (state?.running) this.mark(`started:${key}`, now);
        if (state?.terminated?.exitCode === 0) this.mark(`exited:${key}`, now);
      }),
      this.watch(`/apis/${GROUP}/${VERSION}/${PLURAL}`, undefined, (v: Video, now) => {
        const key = `${v.metadata.namespace}/${v.metadata.name}`;
        for (const r of v.status?.renditions ?? [])
          if (r.phase === 'Succeeded') this.mark(`counted:${key}/${r.name}`, now);
        if (v.status?.phase === 'Ready') this.mark(`ready:${key}`, now);
      }),
    ]);
  }

  private async watch<T>(path: string, labelSelector: string | undefined, seen: (o: T, now: number) => void) {
    const again = () => {
      if (!this.stopped)
        setTimeout(() => void this.watch(path, labelSelector, seen).catch(() => again()), 500);
    };
    this.reqs.push(
      await new k8s.Watch(this.kc).watch(
        path,
        labelSelector ? { labelSelector } : {},
        (_type, obj: T) => seen(obj, Date.now()),
        () => again(),
      ),
    );
  }

  /** What was seen of one Job (`namespace/job`) and its rendition in the Video `namespace/video`. */
  job(namespace: string, job: string, video: string, task: string): JobTimes {
    const key = `${namespace}/${job}`;
    const get = (k: string) => this.first.get(k);
    return {
      task,
      jobCreated: get(`job:${key}`),
      podStarted: get(`started:${key}`),
      podExited: get(`exited:${key}`),
      jobComplete: get(`complete:${key}`),
      counted: get(`counted:${namespace}/${video}/${task}`),
    };
  }

  ready(namespace: string, video: string): number | undefined {
    return this.first.get(`ready:${namespace}/${video}`);
  }

  stop(): void {
    this.stopped = true;
    for (const r of this.reqs) r.abort();
  }
}
