/** What decide() reads (Observed, DecideSettings) and returns (Decision); what its phases share (Pass, Part). */
import type { V1Job } from '@kubernetes/client-node';
import type {
  ChunkMetadata,
  LadderSettings,
  ProbeResult,
  RenditionMetadata,
  RenditionName,
  RenditionProgress,
  StitchReport,
  Video,
  VideoStatus,
} from '../../../common/video/index.js';
import type { JobSettings, Task } from '../jobs.js';
import type { ConditionInput } from '../status.js';

export type Fetched<T> = { ok: T } | { error: string };

export interface Observed {
  video: Video;
  /** Jobs controlled by this Video, by name. */
  jobs: ReadonlyMap<string, V1Job>;
  /** probe.json, read when `needsProbe` said so. */
  probe?: Fetched<ProbeResult>;
  /** rendition.json of every selected rendition, read when `needsRenditionMetadata` said so. */
  metadata?: Fetched<RenditionMetadata[]>;
  /**
   * A chunked rendition whose stitch Job completed: every chunk's metadata (by index) and the stitch
   * report, read when `needsChunkMetadata` said so (phases/chunks.ts).
   */
  chunks?: ReadonlyMap<RenditionName, Fetched<ChunkReadout>>;
  /**
   * Renditions whose Pod succeeded with a valid rendition.json as its termination message, by Job
   * name (pod-results.ts): done as surely as a Complete Job, and known some hundreds of ms sooner.
   */
  podResults?: ReadonlyMap<string, RenditionMetadata>;
  /** Termination message of the last failed Pod, by Job name (the transcoder's own words). */
  terminationMessages?: ReadonlyMap<string, string>;
  /**
   * A processed Video's media check (a HEAD of its master playlist, paced by the controller's media
   * auditor), when one is known for the current master playlist: `missing` names what was not found.
   * Undefined = no news: the MediaAvailable condition stays as it is.
   */
  media?: MediaCheck;
  /** How the last failed Pod of a Job ended (exit code, reason such as OOMKilled), by Job name. */
  terminations?: ReadonlyMap<string, Termination>;
  /** On deletion: transcoder Pods of this Video that still exist (they could still upload). */
  remainingPods?: number;
  /**
   * The transcoders' latest progress reports, by rendition, when a progress write is due
   * (operator/video/progress.ts); undefined: the stored progress stays as it is.
   */
  progress?: ReadonlyMap<RenditionName, RenditionProgress>;
  now: Date;
}

export interface ChunkReadout {
  chunks: ChunkMetadata[];
  report?: StitchReport;
}

export interface MediaCheck {
  /** The master playlist key that was checked. */
  key: string;
  /** `<bucket>/<key>` of each object not found; empty = all there. */
  missing: string[];
}

export interface Termination {
  exitCode?: number;
  /** The container's terminated reason: Error, OOMKilled, ... */
  reason?: string;
  message?: string;
}

export interface RetrySettings {
  /** Automatic retries of transiently failed work per Video (0 = none: such failures are final). */
  limit: number;
  /** Delay before the first retry; doubled for each further one, up to maxDelaySeconds. */
  delaySeconds: number;
  maxDelaySeconds?: number;
}

export interface DecideSettings {
  jobs: JobSettings;
  ladder?: LadderSettings;
  alignmentToleranceSeconds?: number;
  /**
   * The only bucket a Video may name as its source (S3_SOURCE_BUCKET). The transcoder's credentials reach
   * more than that bucket, so a Video naming another one (the media bucket, another tenant's) is Failed
   * with SourceNotAllowed before any Job runs. Undefined = not checked.
   */
  sourceBucket?: string;
  /** Automatic retries of transient failures; none when absent. */
  retry?: RetrySettings;
}

export type Action =
  | { type: 'AddFinalizer' }
  | { type: 'RemoveFinalizer' }
  | { type: 'DeleteJobs'; names: string[] }
  | { type: 'CleanupMedia' }
  | { type: 'CreateJob'; task: Task; job: V1Job }
  | { type: 'WriteMaster'; key: string; body: string }
  /** A chunked rendition's index.m3u8 and rendition.json, from its checked chunks. */
  | {
      type: 'WriteRendition';
      rendition: RenditionName;
      playlistKey: string;
      playlist: string;
      metadataKey: string;
      metadata: string;
    };

export interface EventSpec {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/**
 * One pass's decision. `status` is what the Video shows once `actions` are done (a Job this pass
 * creates already counts as running): the reconciler writes it once, after acting.
 */
export interface Decision {
  actions: Action[];
  /** The status the Video should have; undefined = leave it alone. */
  status?: VideoStatus;
  events: EventSpec[];
  /** Look again after this delay even without a watch event (e.g. waiting for Pods to go). */
  requeueAfterMs?: number;
}

export interface Failure {
  reason: string;
  message: string;
}

/** What every phase of a live (not deleted) Video's pass reads. */
export interface Pass {
  o: Observed;
  settings: DecideSettings;
  video: Video;
  /** The status as stored before this pass. */
  old: VideoStatus;
  ladder: LadderSettings;
  uid: string;
  /** The Jobs that count: those a retry deleted (status.retry.retiredJobs) are left out. */
  jobs: ReadonlyMap<string, V1Job>;
  /** > 0 while an automatic retry's backoff runs: no Job is created. */
  waitMs: number;
}

/** A phase's part of the decision. Conditions are set in order (observedGeneration added by decide). */
export interface Part {
  actions: Action[];
  events: EventSpec[];
  conditions: Array<Omit<ConditionInput, 'observedGeneration'>>;
  /** Condition types removed. */
  remove?: string[];
  /** The Video's failure after this phase (the one it came in with, or a new one). */
  failure?: Failure;
  /** A Job was not created because a retry's backoff runs. */
  waiting?: boolean;
}

export const emptyPart = (failure?: Failure): Part => ({
  actions: [],
  events: [],
  conditions: [],
  ...(failure ? { failure } : {}),
});
