/** TypeScript types of the Video resource; they match crds/media.videoflix.io_videos.yaml (a test checks). */
import type { Phase, RenditionName } from './constants.js';
import type { RenditionProgress } from './progress.js';

export interface ObjectRef {
  bucket: string;
  key: string;
}

export interface VideoSpec {
  title: string;
  description?: string;
  category?: string;
  source: ObjectRef;
  renditions?: RenditionName[];
  /** Seconds into the source at which the thumbnail is taken. */
  thumbnailTime?: number;
  /** Chunked transcoding of long sources (issue 24); each field overrides the operator's default. Immutable. */
  chunking?: ChunkingSpec;
}

export interface ChunkingSpec {
  /** Sources longer than this are encoded in chunks; 0 = never. */
  thresholdSeconds?: number;
  /** Chunk length, rounded up to a multiple of the segment length. */
  chunkSeconds?: number;
  /** Chunk Pods of one rendition at a time; absent = all of them (the scheduler queues). */
  parallelism?: number;
}

/** A chunked rendition's chunks: done (completed indexes) of total. */
export interface ChunksStatus {
  done: number;
  total: number;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export type RenditionPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Skipped';

export interface RenditionStatus {
  name: RenditionName;
  phase: RenditionPhase;
  job?: string;
  message?: string;
  playlistKey?: string;
  /** While Running: the transcoder's last progress report (common/video/progress.ts), coalesced. */
  progress?: RenditionProgress;
  /** A chunked rendition (common/video/chunks.ts): its chunks done/total. */
  chunks?: ChunksStatus;
}

export interface SourceInfo {
  durationSeconds?: number;
  width?: number;
  height?: number;
  hasAudio?: boolean;
}

export interface VideoStatus {
  phase?: Phase;
  observedGeneration?: number;
  conditions?: Condition[];
  renditions?: RenditionStatus[];
  renditionsReady?: number;
  renditionsTotal?: number;
  /** `<ready>/<total>` for the kubectl printer column. */
  renditionsSummary?: string;
  /** Source duration in Go style (`45s`, `2m5s`, `1h2m3s`) for the kubectl printer column. */
  durationText?: string;
  /** Overall encode progress (`63%`) while Processing, for the kubectl printer column. */
  progressSummary?: string;
  /** `<done>/<total>` chunks over the chunked renditions, for the kubectl printer column (-o wide). */
  chunksSummary?: string;
  source?: SourceInfo;
  masterPlaylistKey?: string;
  thumbnailKey?: string;
  message?: string;
  /** Retries of failed work: automatic ones (transient failures) and an admin's retry annotation. */
  retry?: RetryStatus;
}

export interface RetryStatus {
  /** Automatic retries after transient failures since the Video started (or since the last admin retry). */
  attempts?: number;
  /** Value of the media.videoflix.io/retry annotation last acted on. */
  observedAnnotation?: string;
  /** No new Job before this time (RFC 3339): the backoff of the last automatic retry. */
  notBefore?: string;
  /** uids of failed Jobs deleted for a retry, ignored until they are gone. */
  retiredJobs?: string[];
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Video {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: VideoSpec;
  status?: VideoStatus;
}

/** Metadata a transcoder writes next to each rendition (`<id>/<res>/rendition.json`). */
export interface RenditionMetadata {
  name: RenditionName;
  width: number;
  height: number;
  /** Peak bandwidth in bits/s, measured over segments. */
  bandwidth: number;
  averageBandwidth: number;
  codecs: string;
  frameRate: number;
  segmentDuration: number;
  /**
   * Start times (seconds) of each segment, used to check alignment across renditions. Measured from
   * the first video packet of each segment, relative to the first segment (so the first is 0).
   */
  segmentStarts: number[];
  /** Total duration (seconds): the sum of the playlist's EXTINF values. */
  durationSeconds?: number;
  segmentCount?: number;
  /** Whether the rendition carries an audio track (CODECS then lists mp4a). */
  hasAudio?: boolean;
}

/** Probe the thumbnail Job writes (`<id>/probe.json`). */
export interface ProbeResult {
  durationSeconds: number;
  width: number;
  height: number;
  hasAudio: boolean;
  videoCodec?: string;
  frameRate?: number;
}
