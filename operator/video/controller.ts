/**
 * The Video controller: the runtime's Manager (../runtime/manager.ts) wired to Videos. Informers on
 * Videos and on the Jobs they own map events to Video keys; the VideoReconciler reconciles a key
 * while this replica leads; on becoming leader every Video's status is published once and the media
 * auditor starts. Everything is injected so that tests run one or two of these in-process.
 */
import {
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Job,
  type V1Pod,
} from '@kubernetes/client-node';
import type { Client as MinioClient } from 'minio';
import type { Logger } from '../../common/logging/index.js';
import { GROUP, PLURAL, VERSION, type ProgressMessage, type Video } from '../../common/video/index.js';
import { Informer, objectKey, type KubernetesObject, type ListResult } from '../runtime/informer.js';
import { shareAgents } from '../runtime/kubeconfig.js';
import { Manager, type Check, type LeaderElectionSettings } from '../runtime/manager.js';
import { createMetrics, type OperatorMetrics } from './metrics.js';
import { Actor, FIELD_MANAGER, MERGE } from './act.js';
import type { DecideSettings } from './decide.js';
import { BackgroundEvents, EventRecorder } from './events.js';
import {
  encodeFinished,
  failedNow,
  jobsByOutcome,
  oldestProcessingSeconds,
  pastEtaSeconds,
  videosByPhase,
} from './gauges.js';
import { OWNED_JOBS_SELECTOR } from './jobs.js';
import { MediaAuditor, statMedia } from './media.js';
import { StatusMessages } from './messages.js';
import { Observer } from './observe.js';
import { controllerOf, jobChangeMatters, slimJob } from './owned-jobs.js';
import { masterCurrent } from './phases/publish.js';
import { OwnWrites } from './own-writes.js';
import { RENDITION_PODS_SELECTOR, jobOf, podResult, podResultChanged, slimPod } from './pod-results.js';
import { ProgressTracker } from './progress.js';
import type { StatusSink } from './publish.js';
import { VideoReconciler } from './reconciler.js';
import type { StatusClient } from './status.js';

export type { LeaderElectionSettings } from '../runtime/manager.js';

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
  /** Liveness bounds: an informer without a successful list/watch, a reconcile in flight (runtime/manager.ts). */
  informerStallMs?: number;
  workerStallMs?: number;
  defaultMetrics?: boolean;
  /**
   * On becoming leader, publish the current status of every Video once (default true). The outbox
   * lives in memory, so this is what makes a message lost in a crash during a broker outage
   * reappear: consumers keep the newest by sequence, so a repeat is harmless.
   */
  publishOnLead?: boolean;
  /** Called when the Lease was lost while running (not on stop); main.ts exits so a fresh process campaigns. */
  onLostLeadership?: () => void;
  /**
   * The transcoders' progress reports (video/progress.ts): at most one status write per Video every
   * `writeIntervalMs` carries them. Absent: progress is not recorded.
   */
  progress?: { writeIntervalMs: number };
}

/**
 * Whether a Video may still be encoding (its reports matter): not deleted, not Failed, and not Ready
 * unless a rung added since is encoding (its master is not current: phases/publish.ts, masterCurrent).
 */
const encoding = (v: Video) =>
  !v.metadata.deletionTimestamp &&
  v.status?.phase !== 'Failed' &&
  (v.status?.phase !== 'Ready' || !masterCurrent(v.status));

const clean = <T extends object>(x: T) =>
  Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as T;

export class VideoController {
  readonly metrics: OperatorMetrics;
  private readonly videos: Informer<Video>;
  private readonly jobs: Informer<V1Job>;
  private readonly pods: Informer<V1Pod>;
  private readonly manager: Manager;
  private readonly reconciler: VideoReconciler;
  private readonly ownWrites = new OwnWrites();
  private readonly events: BackgroundEvents;
  private readonly messages: StatusMessages;
  private auditor?: MediaAuditor;
  /** Progress reports waiting for their coalesced status write (undefined: progress is off). */
  readonly progress?: ProgressTracker;
  /** Video uid → key (reports name the uid, the caches the key). */
  private readonly uids = new Map<string, string>();
  /** When this replica saw a Video enter Processing (by uid): the start of the "oldest Processing" age. */
  private readonly processingSeen = new Map<string, number>();

  constructor(private readonly o: ControllerOptions) {
    const kc = shareAgents(o.kubeConfig);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const batch = kc.makeApiClient(BatchV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const log = o.logger;
    const ns = o.namespace;
    const common = { kubeConfig: kc, logger: log, watchdogMs: o.watchdogMs, relistMs: o.relistMs };
    const restarted = (informer: string) => (reason: string) =>
      this.metrics.informerRestarts.inc({ informer, reason });
    this.videos = new Informer<Video>(
      clean({
        ...common,
        name: 'videos',
        path: ns
          ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}`
          : `/apis/${GROUP}/${VERSION}/${PLURAL}`,
        list: async () =>
          (ns
            ? await custom.listNamespacedCustomObject({
                group: GROUP,
                version: VERSION,
                namespace: ns,
                plural: PLURAL,
              })
            : await custom.listClusterCustomObject({
                group: GROUP,
                version: VERSION,
                plural: PLURAL,
              })) as ListResult<Video>,
        onRestart: restarted('videos'),
      }),
    );
    /** An informer on the operator's own children (a label selector keeps the cache small). */
    const children = <T extends KubernetesObject>(
      name: string,
      path: string,
      labelSelector: string,
      transform: (o: T) => T,
      list: () => Promise<unknown>,
    ) =>
      new Informer<T>(
        clean({
          ...common,
          name,
          // `path` lists all namespaces; with WATCH_NAMESPACE, that namespace's path (…/namespaces/<ns>/<plural>)
          path: ns ? path.replace(/\/([a-z]+)$/, `/namespaces/${ns}/$1`) : path,
          labelSelector,
          transform,
          list: async () => (await list()) as ListResult<T>,
          onRestart: restarted(name),
        }),
      );
    this.jobs = children<V1Job>('jobs', '/apis/batch/v1/jobs', OWNED_JOBS_SELECTOR, slimJob, () =>
      ns
        ? batch.listNamespacedJob({ namespace: ns, labelSelector: OWNED_JOBS_SELECTOR })
        : batch.listJobForAllNamespaces({ labelSelector: OWNED_JOBS_SELECTOR }),
    );
    // Rendition Pods: a successful exit's termination message counts the rendition done before
    // the Job controller marks its Job Complete (pod-results.ts).
    this.pods = children<V1Pod>('pods', '/api/v1/pods', RENDITION_PODS_SELECTOR, slimPod, () =>
      ns
        ? core.listNamespacedPod({ namespace: ns, labelSelector: RENDITION_PODS_SELECTOR })
        : core.listPodForAllNamespaces({ labelSelector: RENDITION_PODS_SELECTOR }),
    );
    this.metrics = createMetrics(
      {
        queueDepth: () => this.manager.depth(),
        jobsByOutcome: () => jobsByOutcome(this.jobs.list()),
        videosByPhase: () => videosByPhase(this.videos.list()),
        isLeader: () => this.manager.isLeader,
        outboxSize: () => o.sink.size,
        oldestProcessingSeconds: () =>
          oldestProcessingSeconds(this.videos.list(), Date.now(), (uid) => this.processingSeen.get(uid)),
        pastEtaSeconds: () => pastEtaSeconds(this.videos.list(), Date.now()),
      },
      { defaultMetrics: o.defaultMetrics ?? false },
    );
    this.events = new BackgroundEvents(new EventRecorder(core, 'videoflix-operator', o.identity, log));
    this.messages = new StatusMessages(o.sink);
    const statusClient: StatusClient = {
      get: async (namespace, name) =>
        (await custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
        })) as Video,
      patchStatus: async (namespace, name, body) =>
        (await custom.patchNamespacedCustomObjectStatus(
          {
            group: GROUP,
            version: VERSION,
            namespace,
            plural: PLURAL,
            name,
            body,
            fieldManager: FIELD_MANAGER,
          },
          MERGE,
        )) as Video,
    };
    const settings: DecideSettings = { sourceBucket: o.sourceBucket, ...o.decide };
    if (o.progress)
      this.progress = new ProgressTracker({
        intervalMs: o.progress.writeIntervalMs,
        wake: (uid) => {
          const key = this.uids.get(uid);
          if (key) this.manager.enqueue(key);
        },
      });
    this.reconciler = new VideoReconciler({
      cached: (key) => this.videos.get(key),
      ownWrites: this.ownWrites,
      statusClient,
      observer: new Observer({
        batch,
        core,
        storage: o.storage,
        mediaBucket: o.mediaBucket,
        ...(o.decide.ladder ? { ladder: o.decide.ladder } : {}),
        jobSettings: o.decide.jobs,
        logger: log,
        cachedJobs: () => this.jobs.list(),
        cachedPods: () => this.pods.list(),
        mediaCheck: (uid) => this.auditor?.result(uid),
      }),
      actor: new Actor({
        custom,
        batch,
        storage: o.storage,
        mediaBucket: o.mediaBucket,
        sourceBucket: o.sourceBucket,
        ...(o.deleteSourceOnDelete !== undefined ? { deleteSourceOnDelete: o.deleteSourceOnDelete } : {}),
        logger: log,
        wrote: (v) => this.ownWrites.remember(v),
        onRemoved: (v) => this.messages.publishDeleted(v),
        onEvents: (v, e) => this.events.record(v, e),
        onJobCreated: (task) => this.metrics.jobsCreated.inc({ task }),
      }),
      messages: this.messages,
      events: this.events,
      settings,
      logger: log,
      ...(this.progress ? { progress: this.progress } : {}),
    });
    this.manager = new Manager(
      clean({
        kubeConfig: kc,
        logger: log,
        identity: o.identity,
        informers: [this.videos, this.jobs, this.pods] as Array<Informer<KubernetesObject>>,
        keys: () => this.videos.list().map(objectKey),
        reconcile: (key: string) => this.reconciler.reconcile(key),
        leaderElection: o.leaderElection,
        workers: o.workers,
        resyncMs: o.resyncMs,
        queue: o.queue,
        metrics: this.metrics,
        informerStallMs: o.informerStallMs ?? (o.watchdogMs !== undefined ? 2 * o.watchdogMs : undefined),
        workerStallMs: o.workerStallMs,
        onStartedLeading: () => this.startedLeading(),
        onStoppedLeading: () => this.stoppedLeading(),
        onLostLeadership: o.onLostLeadership,
      }),
    );
    const index = (v: Video) => {
      const uid = v.metadata.uid ?? '';
      this.uids.set(uid, objectKey(v));
      if (!encoding(v)) this.progress?.forget(uid);
    };
    this.videos.on('add', (v) => {
      index(v);
      this.manager.enqueue(objectKey(v));
    });
    this.videos.on('update', (v, old) => {
      index(v);
      this.ownWrites.observed(v);
      this.observeVideo(v, old);
      this.manager.enqueue(objectKey(v));
    });
    this.videos.on('delete', (v) => {
      this.uids.delete(v.metadata.uid ?? '');
      this.progress?.forget(v.metadata.uid ?? '');
      if (v.metadata.uid) this.processingSeen.delete(v.metadata.uid);
      this.ownWrites.forget(objectKey(v));
      this.manager.enqueue(objectKey(v));
    });
    const onJob = (j: V1Job) => {
      const owner = controllerOf(j);
      if (owner) this.manager.enqueue(owner.key);
    };
    this.jobs.on('add', onJob);
    this.jobs.on('update', (j, old) => {
      const done = this.manager.isLeader ? encodeFinished(old, j) : undefined;
      if (done) this.metrics.encodeDuration.observe({ task: done.task }, done.seconds);
      if (!old || jobChangeMatters(old, j)) onJob(j);
    });
    this.jobs.on('delete', onJob);
    // Only a Pod's result matters (its Job's owner is the Video); the Job carries everything else.
    const onPod = (p: V1Pod) => {
      const job = jobOf(p);
      const cached = job && this.jobs.get(`${p.metadata?.namespace}/${job.name}`);
      if (cached) onJob(cached);
    };
    this.pods.on('add', (p) => {
      if (podResult(p)) onPod(p);
    });
    this.pods.on('update', (p, old) => {
      if (!old || podResultChanged(old, p)) onPod(p);
    });
  }

  /** Metrics of a Video's change: entering Processing (its start), turning Failed (counted by the leader). */
  private observeVideo(v: Video, old: Video | undefined) {
    const uid = v.metadata.uid;
    const phase = v.status?.phase;
    if (uid && phase === 'Processing' && old && old.status?.phase !== 'Processing')
      this.processingSeen.set(uid, Date.now());
    else if (uid && phase !== 'Processing') this.processingSeen.delete(uid);
    const reason = this.manager.isLeader ? failedNow(old, v) : undefined;
    if (reason) this.metrics.videosFailed.inc({ reason });
  }

  get isLeader(): boolean {
    return this.manager.isLeader;
  }

  /**
   * A transcoder's progress report (the ProgressConsumer's messages): kept for the Video's next
   * coalesced status write if it is one of ours and that rendition still encodes; else ignored.
   */
  recordProgress(msg: ProgressMessage): boolean {
    if (!this.progress) return false;
    const key = this.uids.get(msg.uid);
    const video = key ? this.videos.get(key) : undefined;
    if (!video || !encoding(video)) return false;
    const r = video.status?.renditions?.find((x) => x.name === msg.rendition);
    if (r && r.phase !== 'Running' && r.phase !== 'Pending') return false;
    this.progress.record(msg);
    return true;
  }

  start(): Promise<void> {
    return this.manager.start();
  }

  async stop(): Promise<void> {
    this.progress?.stop();
    await this.manager.stop();
    await this.events.flush();
  }

  healthy(): Check {
    return this.manager.healthy();
  }

  ready(): Check {
    return this.manager.ready();
  }

  /** Reconciles one Video now (tests; the workers call the same). */
  reconcile(key: string): Promise<unknown> {
    return this.reconciler.reconcile(key);
  }

  private startedLeading() {
    if (this.o.publishOnLead ?? true)
      for (const v of this.videos.list())
        if (v.status?.phase && !v.metadata.deletionTimestamp) this.messages.publish(v, v.status);
    const media = this.o.mediaCheck ?? { intervalMs: 300_000, perSecond: 10 };
    this.auditor = new MediaAuditor({
      ...media,
      list: () => this.videos.list(),
      stat: (key) => statMedia(this.o.storage, this.o.mediaBucket, key),
      describe: (key) => `${this.o.mediaBucket}/${key}`,
      onChange: (video) => this.manager.enqueue(objectKey(video)),
      onCheck: (result) => this.metrics.mediaChecks.inc({ result }),
      logger: this.o.logger.child({ component: 'media-auditor' }),
    });
    this.auditor.start();
  }

  private async stoppedLeading(): Promise<void> {
    const auditor = this.auditor;
    this.auditor = undefined;
    await auditor?.stop();
  }
}
