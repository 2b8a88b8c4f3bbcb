/**
 * The Video controller: informers on Videos and on the Jobs it owns feed a de-duplicating work
 * queue; while this replica holds the Lease, workers reconcile keys (observe → decide → act).
 * Everything is injected so that tests run one or two of these in-process.
 */
import {
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import type { Client as MinioClient } from 'minio';
import type { Logger } from '../common/logging/index.js';
import {
  DELETED_ROUTING_KEY,
  FINALIZER,
  GROUP,
  KIND,
  PLURAL,
  VERSION,
  ANNOTATIONS,
  LABELS,
  REASONS,
  checkMediaFile,
  keys,
  probeResultSchema,
  renditionMetadataSchema,
  statusRoutingKey,
  type RenditionMetadata,
  type Video,
  type VideoStatus,
  type VideoStatusMessage,
} from '../common/video/index.js';
import { Informer, objectKey, stripManagedFields, type ListResult } from './runtime/informer.js';
import { shareAgents } from './runtime/kubeconfig.js';
import { LeaderElector } from './runtime/leader.js';
import { createMetrics, type OperatorMetrics } from './runtime/metrics.js';
import { DEFAULT_WORKERS, WorkQueue } from './runtime/queue.js';
import {
  decide,
  failedJobs,
  jobOutcome,
  needsProbe,
  needsRenditionMetadata,
  selectedRenditions,
  type Action,
  type DecideSettings,
  type EventSpec,
  type Fetched,
  type Observed,
  type Termination,
} from './video/decide.js';
import { EventRecorder } from './video/events.js';
import { removeMedia, removeSource } from './video/finalizer.js';
import { MediaAuditor } from './video/media.js';
import { MANAGED_BY, OWNED_JOBS_SELECTOR, THUMBNAIL_TASK, labelValue } from './video/jobs.js';
import type { StatusSink } from './video/publish.js';
import { writeStatus, type StatusClient } from './video/status.js';

export interface LeaderElectionSettings {
  namespace: string;
  name: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** false simulates a crash in tests: the Lease is left to expire. */
  releaseOnStop?: boolean;
}

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  storage: MinioClient;
  mediaBucket: string;
  sourceBucket: string;
  deleteSourceOnDelete?: boolean;
  sink: StatusSink;
  logger: Logger;
  decide: DecideSettings;
  identity: string;
  /** Namespace to watch; undefined = all. */
  namespace?: string;
  /** false = always lead (single replica, tests). */
  leaderElection: LeaderElectionSettings | false;
  workers?: number;
  resyncMs?: number;
  /** The media auditor (video/media.ts): a sweep at most every intervalMs (0 = off), perSecond HEADs. */
  mediaCheck?: { intervalMs: number; perSecond: number };
  watchdogMs?: number;
  relistMs?: number;
  queue?: { baseDelayMs?: number; maxDelayMs?: number };
  defaultMetrics?: boolean;
  /**
   * On becoming leader, publish the current status of every Video once (default true). The outbox
   * lives in memory, so this is what makes a message lost in a crash during a broker outage
   * reappear: consumers keep the newest by sequence, so a repeat is harmless.
   */
  publishOnLead?: boolean;
  /** Called when the Lease was lost while running (not on stop); main.ts exits so a fresh process campaigns. */
  onLostLeadership?: () => void;
}

/** How long an own write's answer may stand in for a cache that has not caught up. */
const WRITTEN_TTL_MS = 30_000;
const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const code = (err: unknown) => (err as { code?: number })?.code;

/**
 * What the cache keeps of a Job: its metadata (without managedFields), its status and its spec
 * without the Pod template. Nothing reads the template back (decide() goes by name, labels, owner
 * and status conditions), and it is most of a transcoder Job's size (container, env, volumes).
 */
export function slimJob(job: V1Job): V1Job {
  stripManagedFields(job);
  if (job.spec) delete (job.spec as Partial<NonNullable<V1Job['spec']>>).template;
  return job;
}

/**
 * Whether a Job update can change what decide() sees of it: its outcome (Complete/Failed and why),
 * its deletion, its controller. The Job controller updates a Job's status many more times (Pods
 * active, ready, starting); those need no reconcile of the Video (a resync would catch up anyway).
 */
export function jobChangeMatters(old: V1Job, now: V1Job): boolean {
  const seen = (j: V1Job) =>
    JSON.stringify([jobOutcome(j), !!j.metadata?.deletionTimestamp, controllerOf(j)?.uid ?? '']);
  return seen(old) !== seen(now);
}

/** Name of the Video that controls a Job, from its controller ownerReference. */
function controllerOf(job: V1Job): { key: string; uid: string } | undefined {
  const ref = job.metadata?.ownerReferences?.find(
    (r) => r.controller && r.kind === KIND && r.apiVersion.startsWith(`${GROUP}/`),
  );
  return ref ? { key: `${job.metadata?.namespace}/${ref.name}`, uid: ref.uid } : undefined;
}

export class VideoController {
  readonly metrics: OperatorMetrics;
  private readonly custom: CustomObjectsApi;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly videos: Informer<Video>;
  private readonly jobs: Informer<V1Job>;
  private readonly elector?: LeaderElector;
  private readonly events: EventRecorder;
  private readonly statusClient: StatusClient;
  /** decide()'s settings, with the one sources bucket a Video may name (unless the caller set another). */
  private readonly decideSettings: DecideSettings;
  private queue?: WorkQueue;
  private workers: Promise<void>[] = [];
  private resyncTimer?: NodeJS.Timeout;
  private auditor?: MediaAuditor;
  private leading = false;
  private readonly sequences = new Map<string, number>();
  private stopped = false;
  private draining?: Promise<void>;
  private eventChain: Promise<void> = Promise.resolve();
  /** Videos as this replica's own writes returned them, until the watch catches up (see latest()). */
  private readonly written = new Map<string, { video: Video; at: number }>();

  constructor(private readonly o: ControllerOptions) {
    const kc = shareAgents(o.kubeConfig);
    this.decideSettings = { sourceBucket: o.sourceBucket, ...o.decide };
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.batch = kc.makeApiClient(BatchV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    const log = o.logger;
    this.events = new EventRecorder(this.core, 'videoflix-operator', o.identity, log);
    const ns = o.namespace;
    const informerOpts = { kubeConfig: kc, logger: log, watchdogMs: o.watchdogMs, relistMs: o.relistMs };
    const clean = <T extends object>(x: T) =>
      Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as T;
    this.videos = new Informer(
      clean({
        ...informerOpts,
        name: 'videos',
        path: ns
          ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`
          : `/apis/${GROUP}/${VERSION}/${PLURAL}`,
        list: async () =>
          (ns
            ? await this.custom.listNamespacedCustomObject({
                group: GROUP,
                version: VERSION,
                namespace: ns,
                plural: PLURAL,
              })
            : await this.custom.listClusterCustomObject({
                group: GROUP,
                version: VERSION,
                plural: PLURAL,
              })) as ListResult<Video>,
        onRestart: (reason: string) => this.metrics.informerRestarts.inc({ informer: 'videos', reason }),
      }),
    );
    this.jobs = new Informer<V1Job>(
      clean({
        ...informerOpts,
        name: 'jobs',
        path: ns ? `/apis/batch/v1/namespaces/${ns}/jobs` : '/apis/batch/v1/jobs',
        labelSelector: OWNED_JOBS_SELECTOR,
        transform: slimJob,
        list: async () =>
          (ns
            ? await this.batch.listNamespacedJob({ namespace: ns, labelSelector: OWNED_JOBS_SELECTOR })
            : await this.batch.listJobForAllNamespaces({
                labelSelector: OWNED_JOBS_SELECTOR,
              })) as ListResult<V1Job>,
        onRestart: (reason: string) => this.metrics.informerRestarts.inc({ informer: 'jobs', reason }),
      }),
    );
    this.metrics = createMetrics(
      {
        queueDepth: () => this.queue?.len() ?? 0,
        jobsByOutcome: () => {
          const counts = new Map<string, number>();
          for (const j of this.jobs.list()) {
            const task = j.metadata?.labels?.['media.videoflix.io/rendition'] ?? THUMBNAIL_TASK;
            const k = `${task}|${jobOutcome(j).state}`;
            counts.set(k, (counts.get(k) ?? 0) + 1);
          }
          return [...counts].map(([k, count]) => {
            const [task = '', outcome = ''] = k.split('|');
            return { task, outcome, count };
          });
        },
        videosByPhase: () => {
          const r: Record<string, number> = { Pending: 0, Processing: 0, Ready: 0, Failed: 0 };
          for (const v of this.videos.list()) {
            const p = v.status?.phase ?? 'Pending';
            r[p] = (r[p] ?? 0) + 1;
          }
          return r;
        },
        isLeader: () => this.leading,
        outboxSize: () => o.sink.size,
      },
      { defaultMetrics: o.defaultMetrics ?? false },
    );
    this.videos.on('add', (v) => this.enqueue(objectKey(v)));
    this.videos.on('update', (v) => {
      const key = objectKey(v);
      if (this.written.get(key)?.video.metadata.resourceVersion === v.metadata.resourceVersion)
        this.written.delete(key);
      this.enqueue(key);
    });
    this.videos.on('delete', (v) => {
      this.written.delete(objectKey(v));
      this.enqueue(objectKey(v));
    });
    const onJob = (j: V1Job) => {
      const owner = controllerOf(j);
      if (owner) this.enqueue(owner.key);
    };
    this.jobs.on('add', onJob);
    this.jobs.on('update', (j, old) => {
      if (!old || jobChangeMatters(old, j)) onJob(j);
    });
    this.jobs.on('delete', onJob);
    this.statusClient = {
      get: async (namespace, name) =>
        (await this.custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
        })) as Video,
      patchStatus: async (namespace, name, body) =>
        (await this.custom.patchNamespacedCustomObjectStatus(
          {
            group: GROUP,
            version: VERSION,
            namespace,
            plural: PLURAL,
            name,
            body,
            fieldManager: 'videoflix-operator',
          },
          MERGE,
        )) as Video,
    };
    if (o.leaderElection) {
      const le = o.leaderElection;
      this.elector = new LeaderElector({
        api: kc.makeApiClient(CoordinationV1Api),
        namespace: le.namespace,
        name: le.name,
        identity: o.identity,
        ...(le.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: le.leaseDurationSeconds } : {}),
        ...(le.renewDeadlineMs !== undefined ? { renewDeadlineMs: le.renewDeadlineMs } : {}),
        ...(le.retryPeriodMs !== undefined ? { retryPeriodMs: le.retryPeriodMs } : {}),
        ...(le.releaseOnStop !== undefined ? { releaseOnStop: le.releaseOnStop } : {}),
        logger: log,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => {
          void this.stopLeading();
          if (!this.stopped) o.onLostLeadership?.();
        },
      });
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Starts the informers, waits for their first list, then campaigns (or leads at once). */
  async start(): Promise<void> {
    this.videos.start();
    this.jobs.start();
    const synced = (await this.videos.waitForSync()) && (await this.jobs.waitForSync());
    if (!synced) this.o.logger.warn('informers not synced yet; continuing');
    if (this.elector) this.elector.start();
    else this.startLeading();
  }

  /** Graceful: stop campaigning (release the Lease), drain workers, stop informers. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.elector) await this.elector.stop();
    await this.stopLeading();
    await this.eventChain;
    await Promise.all([this.videos.stop(), this.jobs.stop()]);
  }

  healthy(): { ok: boolean; detail?: string } {
    return {
      ok: true,
      detail: `informer restarts: videos ${this.videos.restarts}, jobs ${this.jobs.restarts}`,
    };
  }

  ready(): { ok: boolean; detail?: string } {
    const ok = this.videos.synced && this.jobs.synced;
    return {
      ok,
      detail: `${ok ? 'caches synced' : 'caches syncing'}; ${this.leading ? 'leader' : 'standby'}`,
    };
  }

  private enqueue(key: string) {
    if (this.leading) this.queue?.add(key);
  }

  private startLeading() {
    if (this.leading || this.stopped) return;
    this.leading = true;
    const queue = new WorkQueue(this.o.queue ?? {});
    this.queue = queue;
    for (const v of this.videos.list()) {
      queue.add(objectKey(v));
      if ((this.o.publishOnLead ?? true) && v.status?.phase && !v.metadata.deletionTimestamp)
        this.publish(v, v.status);
    }
    const n = this.o.workers ?? DEFAULT_WORKERS;
    this.workers = Array.from({ length: n }, () => this.work(queue));
    const resync = this.o.resyncMs ?? 300_000;
    this.resyncTimer = setInterval(() => {
      for (const v of this.videos.list()) queue.add(objectKey(v));
    }, resync);
    this.resyncTimer.unref?.();
    const media = this.o.mediaCheck ?? { intervalMs: 300_000, perSecond: 10 };
    this.auditor = new MediaAuditor({
      ...media,
      list: () => this.videos.list(),
      stat: (key) => this.statMedia(key),
      describe: (key) => `${this.o.mediaBucket}/${key}`,
      onChange: (video) => queue.add(objectKey(video)),
      onCheck: (result) => this.metrics.mediaChecks.inc({ result }),
      logger: this.o.logger.child({ component: 'media-auditor' }),
    });
    this.auditor.start();
  }

  /** HEAD of an object in the media bucket: found or missing; other errors (timeouts, 5xx) throw. */
  private async statMedia(key: string): Promise<'found' | 'missing'> {
    try {
      await this.o.storage.statObject(this.o.mediaBucket, key);
      return 'found';
    } catch (err) {
      const c = (err as { code?: string }).code;
      if (c === 'NotFound' || c === 'NoSuchKey' || c === 'NoSuchBucket') return 'missing';
      throw err;
    }
  }

  /** Stops taking work; resolves when in-flight reconciles finished (same promise for every caller). */
  private stopLeading(): Promise<void> {
    if (!this.leading) return this.draining ?? Promise.resolve();
    this.leading = false;
    clearInterval(this.resyncTimer);
    const auditor = this.auditor;
    this.auditor = undefined;
    this.queue?.shutDown();
    const workers = this.workers;
    this.workers = [];
    this.draining = Promise.all([...workers, auditor?.stop()]).then(() => undefined);
    return this.draining;
  }

  private async work(queue: WorkQueue) {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      const started = process.hrtime.bigint();
      let result = 'success';
      try {
        await this.reconcile(key);
        queue.forget(key);
      } catch (err) {
        result = 'error';
        const e = err as { code?: number; body?: unknown; message?: string };
        this.o.logger.warn(
          {
            key,
            err: e.message ?? String(err),
            code: e.code,
            body: e.body,
            requeues: queue.numRequeues(key),
          },
          'reconcile failed',
        );
        queue.addRateLimited(key);
      } finally {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.metrics.reconciles.inc({ result });
        this.metrics.reconcileDuration.observe({ result }, seconds);
        queue.done(key);
      }
    }
  }

  /** Jobs controlled by the Video with this uid, by name (from the informer cache). */
  private jobsOf(namespace: string, uid: string): Map<string, V1Job> {
    const m = new Map<string, V1Job>();
    for (const j of this.jobs.list()) {
      if (j.metadata?.namespace === namespace && controllerOf(j)?.uid === uid)
        m.set(j.metadata?.name ?? '', j);
    }
    return m;
  }

  private async liveJobsOf(namespace: string, uid: string): Promise<Map<string, V1Job>> {
    const list = await this.batch.listNamespacedJob({ namespace, labelSelector: OWNED_JOBS_SELECTOR });
    const m = new Map<string, V1Job>();
    for (const j of list.items) {
      if (controllerOf(j)?.uid === uid && !j.metadata?.deletionTimestamp) m.set(j.metadata?.name ?? '', j);
    }
    return m;
  }

  /**
   * Reconciles one Video. It is read from the informer cache (or from the answer to this replica's
   * own last write to it, when the cache has not caught up yet), not from the API server: a GET per
   * reconcile was a third of all requests. A write that meets a 409 Conflict (the cache was behind)
   * makes the pass run once more on a fresh GET.
   */
  async reconcile(key: string): Promise<void> {
    const known = this.latest(key);
    if (!known) return;
    try {
      // A copy: nothing below may change the cached object by accident.
      await this.reconcileVideo(key, structuredClone(known));
    } catch (err) {
      const [namespace = '', name = ''] = key.split('/');
      if (code(err) === 404) {
        // A write found the Video gone: a pass on a cache that had not yet seen the deletion (e.g. the
        // finalizer removed by the previous pass, the object deleted since). Done, if it is gone.
        if (!(await this.exists(namespace, name))) return;
        throw err;
      }
      if (code(err) !== 409) throw err;
      let fresh: Video;
      try {
        fresh = this.remember(await this.statusClient.get(namespace, name));
      } catch (e) {
        if (code(e) === 404) return;
        throw e;
      }
      this.o.logger.debug({ video: key }, 'conflict: reconciling again on a fresh read');
      await this.reconcileVideo(key, structuredClone(fresh));
    }
  }

  /** Whether the Video still exists on the API server (a GET; 404 → false). */
  private async exists(namespace: string, name: string): Promise<boolean> {
    try {
      await this.statusClient.get(namespace, name);
      return true;
    } catch (e) {
      if (code(e) === 404) return false;
      throw e;
    }
  }

  /**
   * The newest Video this replica knows: the cached one, unless this replica's own write returned a
   * newer resourceVersion that the watch has not delivered yet (resourceVersions are compared as
   * numbers only when both are; otherwise the cache wins and a stale read ends in a 409 and a GET).
   */
  private latest(key: string): Video | undefined {
    const cached = this.videos.get(key);
    const mine = this.written.get(key);
    if (!cached || !mine) {
      this.written.delete(key);
      return cached;
    }
    const a = mine.video.metadata.resourceVersion ?? '';
    const b = cached.metadata.resourceVersion ?? '';
    const newer =
      mine.video.metadata.uid === cached.metadata.uid &&
      Date.now() - mine.at < WRITTEN_TTL_MS &&
      /^\d+$/.test(a) &&
      /^\d+$/.test(b) &&
      BigInt(a) > BigInt(b);
    if (newer) return mine.video;
    this.written.delete(key);
    return cached;
  }

  /** Keeps the object an own write returned (trimmed like the cache) until the watch delivers it. */
  private remember(video: Video): Video {
    stripManagedFields(video);
    this.written.set(objectKey(video), { video, at: Date.now() });
    return video;
  }

  /** What decide() needs besides the Video and its Jobs: objects in S3, Pods, termination messages. */
  private async observe(video: Video): Promise<Observed> {
    const namespace = video.metadata.namespace ?? '';
    const uid = video.metadata.uid ?? '';
    // On deletion the Jobs are read from the API server, not the cache: a Job created a moment ago
    // and not yet in the cache must not be left running while the media are removed.
    const jobs = video.metadata.deletionTimestamp
      ? await this.liveJobsOf(namespace, uid)
      : this.jobsOf(namespace, uid);
    const observed: Observed = { video, jobs, now: new Date() };
    const media = this.auditor?.result(uid);
    if (media && media.key === video.status?.masterPlaylistKey) observed.media = media;
    const live = !video.metadata.deletionTimestamp && (video.metadata.finalizers ?? []).includes(FINALIZER);
    if (live && needsProbe(video, jobs)) {
      const key = keys.probe(uid);
      observed.probe = checkMediaFile(probeResultSchema, key, await this.readJson(key));
    }
    if (live && needsRenditionMetadata(video, jobs, this.o.decide.ladder)) {
      const metas: RenditionMetadata[] = [];
      let error: string | undefined;
      for (const r of selectedRenditions(video, this.o.decide.ladder)) {
        const key = keys.renditionMeta(uid, r);
        const got = checkMediaFile(renditionMetadataSchema, key, await this.readJson(key));
        if ('error' in got) {
          error = `${r}: ${got.error}`;
          break;
        }
        metas.push({ ...got.ok, name: r });
      }
      observed.metadata = error ? { error } : { ok: metas };
    }
    if (video.metadata.deletionTimestamp && jobs.size === 0)
      observed.remainingPods = await this.podsOf(video);
    if (live) {
      const failed = failedJobs(video, jobs);
      if (failed.length) {
        const terminations = await this.terminations(namespace, failed);
        observed.terminations = terminations;
        const messages = new Map<string, string>();
        for (const [job, t] of terminations) if (t.message) messages.set(job, t.message);
        observed.terminationMessages = messages;
      }
    }
    return observed;
  }

  private async reconcileVideo(key: string, video: Video): Promise<void> {
    const tStart = performance.now();
    let observed = await this.observe(video);
    let decision = decide(observed, this.decideSettings);
    let current = video;
    const onlyFinalizer = decision.actions.length === 1 && decision.actions[0]?.type === 'AddFinalizer';
    if (onlyFinalizer && !video.metadata.deletionTimestamp) {
      // A new Video: add the finalizer, then decide again in the same pass, so that the first Jobs
      // and the status they imply go out now (one status write, not a Pending one and then another).
      // The first decision's status and events are superseded by the second's.
      current = await this.act(current, { type: 'AddFinalizer' });
      observed = await this.observe(current);
      decision = decide(observed, this.decideSettings);
    }
    const tObserved = performance.now();
    const actions = decision.actions;
    const created = new Map<string, V1Job>();
    for (const action of actions) current = await this.act(current, action, created);
    if (created.size > 0 && decision.status && !current.metadata.deletionTimestamp) {
      // The Jobs just created exist now: decide once more (same observations, no I/O) so that this
      // pass's one status write already shows them running, instead of a second write when their
      // watch events arrive. Kept only when it asks for nothing more to be done.
      const jobs = new Map(observed.jobs);
      for (const [name, job] of created) if (!jobs.has(name)) jobs.set(name, job);
      const next = decide({ ...observed, video: current, jobs }, this.decideSettings);
      if (next.actions.length === 0 && next.status) {
        const seen = new Set(decision.events.map(eventId));
        decision = {
          ...next,
          events: [...decision.events, ...next.events.filter((e) => !seen.has(eventId(e)))],
        };
      }
    }
    const tActed = performance.now();

    if (decision.status) {
      const before = video.status ?? {};
      const written = await writeStatus(this.statusClient, current, decision.status);
      if (written) {
        current = this.remember(written);
        // A phase change, a new generation, or a rendition finishing: consumers (the catalog, the
        // admin console's progress) see per-rendition progress live, not only at phase changes.
        if (
          before.phase !== decision.status.phase ||
          before.observedGeneration !== decision.status.observedGeneration ||
          renditionStates(before) !== renditionStates(decision.status)
        ) {
          this.publish(current, decision.status);
        }
      }
    }
    this.recordEvents(current, decision.events);
    if (decision.requeueAfterMs) this.queue?.addAfter(key, decision.requeueAfterMs);
    const tDone = performance.now();
    this.o.logger.debug(
      {
        video: key,
        phase: decision.status?.phase,
        actions: actions.map((a) => a.type),
        ms: {
          observe: Math.round(tObserved - tStart),
          act: Math.round(tActed - tObserved),
          status: Math.round(tDone - tActed),
        },
      },
      'reconciled',
    );
  }

  /**
   * Events are recorded in order in the background: they never slow down or fail a reconcile. The
   * JobCreated events of one pass (a Video's first pass starts several Jobs) become one Event.
   */
  private recordEvents(video: Video, all: EventSpec[]) {
    const events = mergeJobCreated(all);
    if (events.length === 0) return;
    this.eventChain = this.eventChain.then(async () => {
      for (const e of events) await this.events.record(video, e);
    });
  }

  /** Transcoder Pods of a Video that still exist (by the labels every Job template carries). */
  private async podsOf(video: Video): Promise<number> {
    const selector = `${LABELS.managedBy}=${MANAGED_BY},${LABELS.video}=${labelValue(video.metadata.name ?? '')}`;
    const pods = await this.core.listNamespacedPod({
      namespace: video.metadata.namespace ?? '',
      labelSelector: selector,
    });
    return pods.items.length;
  }

  /** Performs one action; Jobs it creates (or finds already there, ours) go into `created`. */
  private async act(video: Video, action: Action, created?: Map<string, V1Job>): Promise<Video> {
    const { namespace = '', name = '', uid = '' } = video.metadata;
    const log = this.o.logger.child({ video: `${namespace}/${name}` });
    switch (action.type) {
      case 'AddFinalizer':
      case 'RemoveFinalizer': {
        const current = video.metadata.finalizers ?? [];
        const finalizers =
          action.type === 'AddFinalizer'
            ? [...current.filter((f) => f !== FINALIZER), FINALIZER]
            : current.filter((f) => f !== FINALIZER);
        const updated = (await this.custom.patchNamespacedCustomObject(
          {
            group: GROUP,
            version: VERSION,
            namespace,
            plural: PLURAL,
            name,
            body: { metadata: { finalizers, resourceVersion: video.metadata.resourceVersion } },
            fieldManager: 'videoflix-operator',
          },
          MERGE,
        )) as Video;
        this.remember(updated);
        log.info(
          { finalizer: FINALIZER },
          action.type === 'AddFinalizer' ? 'finalizer added' : 'finalizer removed',
        );
        if (action.type === 'RemoveFinalizer') this.publishDeleted(video);
        return updated;
      }
      case 'CreateJob': {
        const jobName = action.job.metadata?.name ?? '';
        try {
          const job = await this.batch.createNamespacedJob({
            namespace,
            body: action.job,
            fieldManager: 'videoflix-operator',
          });
          created?.set(jobName, slimJob(job));
          this.metrics.jobsCreated.inc({ task: action.task });
          log.info({ job: jobName, task: action.task }, 'job created');
        } catch (err) {
          if (code(err) !== 409) throw err;
          const existing = await this.batch.readNamespacedJob({ name: jobName, namespace });
          if (controllerOf(existing)?.uid !== uid)
            throw new Error(`Job ${namespace}/${jobName} exists and is not controlled by this Video`);
          if (video.status?.retry?.retiredJobs?.includes(existing.metadata?.uid ?? ''))
            // the failed attempt a retry deleted is still going: try again (rate-limited) once it is gone
            throw new Error(`Job ${namespace}/${jobName} of the failed attempt is still being deleted`);
          created?.set(jobName, slimJob(existing));
        }
        return video;
      }
      case 'WriteMaster': {
        const body = Buffer.from(action.body);
        await this.o.storage.putObject(this.o.mediaBucket, action.key, body, body.length, {
          'Content-Type': 'application/vnd.apple.mpegurl',
          'Cache-Control': 'no-cache',
        });
        log.info({ key: action.key }, 'master playlist written');
        return video;
      }
      case 'DeleteJobs': {
        for (const job of action.names) {
          try {
            // Background propagation: the Pods go too (a bare DELETE would orphan them).
            await this.batch.deleteNamespacedJob({ name: job, namespace, propagationPolicy: 'Background' });
            log.info({ job }, 'job deleted');
          } catch (err) {
            if (code(err) !== 404) throw err;
          }
        }
        return video;
      }
      case 'CleanupMedia': {
        const removed = await removeMedia(this.o.storage, this.o.mediaBucket, uid);
        if (this.o.deleteSourceOnDelete && video.spec.source.bucket === this.o.sourceBucket) {
          await removeSource(this.o.storage, video.spec.source.bucket, video.spec.source.key);
        }
        log.info({ removed, prefix: keys.prefix(uid) }, 'media removed');
        this.recordEvents(video, [
          {
            type: 'Normal',
            reason: REASONS.mediaDeleted,
            message: `Removed ${removed} objects under ${keys.prefix(uid)}`,
          },
        ]);
        return video;
      }
    }
  }

  private async readJson<T>(key: string): Promise<Fetched<T>> {
    let text: string;
    try {
      const stream = await this.o.storage.getObject(this.o.mediaBucket, key);
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      text = Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      const c = (err as { code?: string }).code;
      if (c === 'NoSuchKey' || c === 'NotFound' || c === 'NoSuchBucket') return { error: `${key} not found` };
      throw err; // transient: retried with backoff
    }
    try {
      return { ok: JSON.parse(text) as T };
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
        const pods = await this.core.listNamespacedPod({
          namespace,
          labelSelector: `batch.kubernetes.io/job-name=${job}`,
        });
        let best: { at: number; t: Termination } | undefined;
        for (const p of pods.items as V1Pod[]) {
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
        if (best) out.set(job, best.t);
      } catch (err) {
        this.o.logger.warn({ job, err: (err as Error).message }, 'could not read pods of a failed job');
      }
    }
    return out;
  }

  private nextSequence(uid: string): number {
    const seq = Math.max(Date.now(), (this.sequences.get(uid) ?? 0) + 1);
    this.sequences.set(uid, seq);
    return seq;
  }

  private message(video: Video, status: VideoStatus): VideoStatusMessage {
    const uid = video.metadata.uid ?? '';
    const catalog = Number.parseInt(video.metadata.annotations?.[ANNOTATIONS.catalogId] ?? '', 10);
    return {
      namespace: video.metadata.namespace ?? '',
      name: video.metadata.name ?? '',
      uid,
      ...(Number.isFinite(catalog) ? { catalogId: catalog } : {}),
      generation: video.metadata.generation ?? 0,
      resourceVersion: video.metadata.resourceVersion ?? '',
      phase: status.phase ?? 'Pending',
      title: video.spec.title,
      description: video.spec.description ?? '',
      category: video.spec.category ?? '',
      ...(status.masterPlaylistKey ? { masterPlaylistKey: status.masterPlaylistKey } : {}),
      ...(status.thumbnailKey ? { thumbnailKey: status.thumbnailKey } : {}),
      ...(status.source?.durationSeconds !== undefined
        ? { durationSeconds: status.source.durationSeconds }
        : {}),
      renditions: status.renditions ?? [],
      ...(status.message ? { message: status.message } : {}),
      observedAt: new Date().toISOString(),
      sequence: this.nextSequence(uid),
    };
  }

  private publish(video: Video, status: VideoStatus) {
    const msg = this.message(video, status);
    this.o.sink.publish(statusRoutingKey(msg.phase), msg);
  }

  private publishDeleted(video: Video) {
    const msg = { ...this.message(video, video.status ?? {}), deleted: true };
    this.o.sink.publish(DELETED_ROUTING_KEY, msg);
  }
}

/** The per-rendition phases of a status, as one comparable string. */
function renditionStates(status: VideoStatus): string {
  return (status.renditions ?? []).map((r) => `${r.name}:${r.phase}`).join(',');
}

const eventId = (e: EventSpec) => `${e.type}|${e.reason}|${e.message}`;

/** The JobCreated events of one decision as one event naming every Job, in place of the first. */
export function mergeJobCreated(events: EventSpec[]): EventSpec[] {
  const created = events.filter((e) => e.reason === REASONS.jobCreated && e.type === 'Normal');
  if (created.length < 2) return events;
  const what = created.map((e) => e.message.replace(/^Created Job /, ''));
  const merged: EventSpec = {
    type: 'Normal',
    reason: REASONS.jobCreated,
    message: `Created Jobs ${what.join(', ')}`,
  };
  const first = events.indexOf(created[0]!);
  return events.flatMap((e, i) => (i === first ? [merged] : created.includes(e) ? [] : [e]));
}
