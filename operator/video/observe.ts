/**
 * The observe step: what decide() needs besides the Video and its cached Jobs, read from the API
 * server and object storage (probe.json, rendition.json, Pod terminations, Pods left on deletion),
 * and the results rendition Pods reported on exit (from the Pod informer's cache).
 */
import type { BatchV1Api, CoreV1Api, V1Job, V1Pod } from '@kubernetes/client-node';
import type { Client as MinioClient } from 'minio';
import type { Logger } from '../../common/logging/index.js';
import {
  checkMediaFile,
  chunkKeys,
  chunkMetadataSchema,
  DEFAULT_LADDER,
  keys,
  LABELS,
  probeResultSchema,
  renditionMetadataSchema,
  stitchReportSchema,
  type ChunkMetadata,
  type LadderSettings,
  type RenditionMetadata,
  type RenditionName,
  type Video,
} from '../../common/video/index.js';
import {
  chunkCount,
  chunkPlanOf,
  failedJobs,
  needsChunkMetadata,
  needsProbe,
  needsRenditionMetadata,
  selectedRenditions,
  type ChunkReadout,
  type Fetched,
  type MediaCheck,
  type Observed,
  type Termination,
} from './decide.js';
import { isMissing } from './media.js';
import { chunksJobName, MANAGED_BY, OWNED_JOBS_SELECTOR, labelValue, type JobSettings } from './jobs.js';
import { controllerOf } from './owned-jobs.js';
import { podResultsFor } from './pod-results.js';

export interface ObserverOptions {
  batch: BatchV1Api;
  core: CoreV1Api;
  storage: MinioClient;
  mediaBucket: string;
  ladder?: LadderSettings;
  /** The Jobs' settings: their chunking decides which renditions are chunked. */
  jobSettings?: JobSettings;
  logger: Logger;
  /** The Jobs in the informer cache. */
  cachedJobs: () => V1Job[];
  /** The rendition Pods in the informer cache (pod-results.ts); none = Jobs' conditions only. */
  cachedPods?: () => V1Pod[];
  /** The media auditor's latest check of a Video (by uid), if any. */
  mediaCheck: (uid: string) => MediaCheck | undefined;
}

export class Observer {
  constructor(private readonly o: ObserverOptions) {}

  async observe(video: Video): Promise<Observed> {
    const namespace = video.metadata.namespace ?? '';
    const uid = video.metadata.uid ?? '';
    const deleting = !!video.metadata.deletionTimestamp;
    // On deletion the Jobs are read from the API server, not the cache: a Job created a moment ago
    // and not yet in the cache must not be left running while the media are removed.
    const jobs = deleting ? await this.liveJobsOf(namespace, uid) : this.jobsOf(namespace, uid);
    const observed: Observed = { video, jobs, now: new Date() };
    const media = this.o.mediaCheck(uid);
    if (media && media.key === video.status?.masterPlaylistKey) observed.media = media;
    if (deleting) {
      if (jobs.size === 0) observed.remainingPods = await this.podsOf(video);
      return observed;
    }
    if (needsProbe(video, jobs)) {
      const key = keys.probe(uid);
      observed.probe = checkMediaFile(probeResultSchema, key, await this.readJson(key));
    }
    const podResults = podResultsFor(this.o.cachedPods?.() ?? [], jobs);
    if (podResults.size) observed.podResults = podResults;
    if (needsRenditionMetadata(video, jobs, this.o.ladder, podResults, this.o.jobSettings))
      observed.metadata = await this.renditionMetadata(video);
    const stitched = this.o.jobSettings
      ? needsChunkMetadata(video, jobs, selectedRenditions(video, this.o.ladder))
      : [];
    if (stitched.length) {
      const plan = chunkPlanOf(video, this.o.jobSettings!, this.o.ladder ?? DEFAULT_LADDER);
      const chunks = new Map<RenditionName, Fetched<ChunkReadout>>();
      if (plan)
        for (const r of stitched)
          chunks.set(r, await this.chunkReadout(uid, r, chunkCount(jobs.get(chunksJobName(video, r)), plan)));
      observed.chunks = chunks;
    }
    const failed = failedJobs(video, jobs);
    if (failed.length) {
      const terminations = await this.terminations(namespace, failed);
      observed.terminations = terminations;
      const messages = new Map<string, string>();
      for (const [job, t] of terminations) if (t.message) messages.set(job, t.message);
      observed.terminationMessages = messages;
    }
    return observed;
  }

  /** Jobs controlled by the Video with this uid, by name (from the informer cache). */
  jobsOf(namespace: string, uid: string): Map<string, V1Job> {
    const m = new Map<string, V1Job>();
    for (const j of this.o.cachedJobs())
      if (j.metadata?.namespace === namespace && controllerOf(j)?.uid === uid)
        m.set(j.metadata?.name ?? '', j);
    return m;
  }

  private async liveJobsOf(namespace: string, uid: string): Promise<Map<string, V1Job>> {
    const list = await this.o.batch.listNamespacedJob({ namespace, labelSelector: OWNED_JOBS_SELECTOR });
    const m = new Map<string, V1Job>();
    for (const j of list.items)
      if (controllerOf(j)?.uid === uid && !j.metadata?.deletionTimestamp) m.set(j.metadata?.name ?? '', j);
    return m;
  }

  /** rendition.json of every selected rendition, checked; the first problem ends the reading. */
  private async renditionMetadata(video: Video): Promise<Fetched<RenditionMetadata[]>> {
    const uid = video.metadata.uid ?? '';
    const metas: RenditionMetadata[] = [];
    for (const r of selectedRenditions(video, this.o.ladder)) {
      const key = keys.renditionMeta(uid, r);
      const got = checkMediaFile(renditionMetadataSchema, key, await this.readJson(key));
      if ('error' in got) return { error: `${r}: ${got.error}` };
      metas.push({ ...got.ok, name: r });
    }
    return { ok: metas };
  }

  /** A stitched rendition's chunk metadata (every index) and stitch report, checked; the first problem ends it. */
  private async chunkReadout(uid: string, res: RenditionName, count: number): Promise<Fetched<ChunkReadout>> {
    const chunks: ChunkMetadata[] = [];
    for (let i = 0; i < count; i++) {
      const key = chunkKeys.chunkMeta(uid, res, i);
      const got = checkMediaFile(chunkMetadataSchema, key, await this.readJson(key));
      if ('error' in got) return got;
      chunks.push(got.ok);
    }
    const key = chunkKeys.stitchReport(uid, res);
    const report = checkMediaFile(stitchReportSchema, key, await this.readJson(key));
    if ('error' in report) return report;
    return { ok: { chunks, report: report.ok } };
  }

  /** Transcoder Pods of a Video that still exist (by the labels every Job template carries). */
  private async podsOf(video: Video): Promise<number> {
    const selector = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.video}=${labelValue(video.metadata.name ?? '')}`;
    const pods = await this.o.core.listNamespacedPod({
      namespace: video.metadata.namespace ?? '',
      labelSelector: selector,
    });
    return pods.items.length;
  }

  private async readJson(key: string): Promise<Fetched<unknown>> {
    let text: string;
    try {
      const stream = await this.o.storage.getObject(this.o.mediaBucket, key);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      if (isMissing(err)) return { error: `${key} not found` };
      throw err; // transient: retried with backoff
    }
    try {
      return { ok: JSON.parse(text) as unknown };
    } catch {
      return { error: `${key} is not valid JSON` };
    }
  }

  /**
   * How the last failed Pod of each Job ended: exit code, reason (OOMKilled...) and termination
   * message (the transcoder writes one clear line; an OOM-killed one writes none).
   */
  private async terminations(namespace: string, jobNames: string[]): Promise<Map<string, Termination>> {
    const out = new Map<string, Termination>();
    for (const job of jobNames) {
      try {
        const pods = await this.o.core.listNamespacedPod({
          namespace,
          labelSelector: `batch.kubernetes.io/job-name=${job}`,
        });
        const best = lastFailure(pods.items);
        if (best) out.set(job, best);
      } catch (err) {
        this.o.logger.warn({ job, err: (err as Error).message }, 'could not read pods of a failed job');
      }
    }
    return out;
  }
}

/** The latest non-zero termination among these Pods' containers (last three lines of its message). */
export function lastFailure(pods: V1Pod[]): Termination | undefined {
  let best: { at: number; t: Termination } | undefined;
  for (const p of pods) {
    for (const cs of p.status?.containerStatuses ?? []) {
      const t = cs.state?.terminated ?? cs.lastState?.terminated;
      if (!t || t.exitCode === 0) continue;
      const at = t.finishedAt ? new Date(t.finishedAt).getTime() : 0;
      const message = t.message?.trim().split('\n').slice(-3).join(' ');
      if (!best || at >= best.at)
        best = {
          at,
          t: {
            exitCode: t.exitCode,
            ...(t.reason ? { reason: t.reason } : {}),
            ...(message ? { message } : {}),
          },
        };
    }
  }
  return best?.t;
}
