/** The Video API contract: group, version, names, labels, finalizer, condition types and reasons. */
export const GROUP = 'media.videoflix.io';
export const VERSION = 'v1beta1';
/** Still served (deprecated, the same schema); objects stored as it are rewritten by operator/cli/migrate-storage.ts. */
export const DEPRECATED_VERSIONS = ['v1alpha1'] as const;
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'Video';
export const PLURAL = 'videos';
export const SINGULAR = 'video';
export const SHORT_NAME = 'vid';
export const CRD_NAME = `${PLURAL}.${GROUP}`;

export const FINALIZER = `${GROUP}/media-cleanup`;

/** Label keys, from one constant (conventions: app.kubernetes.io/* plus ours). */
export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  video: `${GROUP}/video`,
  rendition: `${GROUP}/rendition`,
} as const;

/** Annotation the API sets so the catalog row and the resource refer to each other. */
export const ANNOTATIONS = {
  catalogId: `${GROUP}/catalog-id`,
  /**
   * Set by an admin (`kubectl annotate video X media.videoflix.io/retry=<n> --overwrite`, or the admin
   * console): a new value retries a Failed Video once, re-running only the work that failed.
   */
  retry: `${GROUP}/retry`,
} as const;

export const RENDITIONS = ['480p', '720p', '1080p'] as const;
export type RenditionName = (typeof RENDITIONS)[number];

export const PHASES = ['Pending', 'Processing', 'Ready', 'Failed'] as const;
export type Phase = (typeof PHASES)[number];

export const CONDITION_TYPES = {
  ready: 'Ready',
  probed: 'Probed',
  transcoded: 'Transcoded',
  failed: 'Failed',
  /** A Ready Video's media (its master playlist) are still in S3: False when they disappeared. */
  mediaAvailable: 'MediaAvailable',
} as const;

/** CamelCase reasons for conditions and Events. */
export const REASONS = {
  pending: 'Pending',
  probing: 'Probing',
  probed: 'Probed',
  transcoding: 'Transcoding',
  transcoded: 'Transcoded',
  playlistWritten: 'PlaylistWritten',
  ready: 'Ready',
  jobFailed: 'JobFailed',
  invalidSource: 'InvalidSource',
  sourceNotAllowed: 'SourceNotAllowed',
  outOfMemory: 'OutOfMemory',
  retrying: 'Retrying',
  segmentsMisaligned: 'SegmentsMisaligned',
  /** A chunked rendition's chunks did not join up (frames, timestamps, alignment): the stitch or the operator's check. */
  chunkCheckFailed: 'ChunkCheckFailed',
  /** A chunked rendition's index.m3u8 and rendition.json were written from its chunks. */
  chunksStitched: 'ChunksStitched',
  storageError: 'StorageError',
  deleting: 'Deleting',
  jobCreated: 'JobCreated',
  jobsCancelled: 'JobsCancelled',
  mediaDeleted: 'MediaDeleted',
  mediaMissing: 'MediaMissing',
  mediaAvailable: 'MediaAvailable',
} as const;

/** Routing key of a status message on the topic exchange: `video.<phase>` in lower case. */
export const statusRoutingKey = (phase: Phase) => `video.${phase.toLowerCase()}`;

/** Routing key of the last message of a deleted Video (its media are gone). */
export const DELETED_ROUTING_KEY = 'video.deleted';
