/**
 * The act step: performs one decided action against the API server or object storage. Idempotent
 * where the cluster can already hold the result (a Job of the same name that this Video controls is
 * taken as created; a Job already gone as deleted).
 */
import {
  PatchStrategy,
  setHeaderOptions,
  type BatchV1Api,
  type CustomObjectsApi,
  type V1Job,
} from '@kubernetes/client-node';
import type { Client as MinioClient } from 'minio';
import type { Logger } from '../../common/logging/index.js';
import { contentTypeFor } from '../../common/storage/index.js';
import { FINALIZER, GROUP, keys, PLURAL, REASONS, VERSION, type Video } from '../../common/video/index.js';
import type { Action, EventSpec } from './decide.js';
import { removeMedia, removeSource } from './finalizer.js';
import { controllerOf, slimJob } from './owned-jobs.js';

export const MERGE = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const FIELD_MANAGER = 'videoflix-operator';
export const httpCode = (err: unknown) => (err as { code?: number })?.code;

export interface ActorOptions {
  custom: CustomObjectsApi;
  batch: BatchV1Api;
  storage: MinioClient;
  mediaBucket: string;
  sourceBucket: string;
  deleteSourceOnDelete?: boolean;
  logger: Logger;
  /** A write to the Video returned this object (for read-your-writes). */
  wrote: (video: Video) => Video;
  /** The finalizer is off: the Video and its media are gone. */
  onRemoved: (video: Video) => void;
  /** Events an action itself produces (recorded in the background). */
  onEvents: (video: Video, events: EventSpec[]) => void;
  onJobCreated: (task: string) => void;
}

export class Actor {
  constructor(private readonly o: ActorOptions) {}

  /** Performs `action`; returns the Video as it now is. Jobs it creates (or finds, ours) go into `created`. */
  async act(video: Video, action: Action, created?: Map<string, V1Job>): Promise<Video> {
    const { namespace = '', name = '', uid = '' } = video.metadata;
    const log = this.o.logger.child({ video: `${namespace}/${name}` });
    switch (action.type) {
      case 'AddFinalizer':
      case 'RemoveFinalizer': {
        const current = video.metadata.finalizers ?? [];
        const add = action.type === 'AddFinalizer';
        const finalizers = add
          ? [...current.filter((f) => f !== FINALIZER), FINALIZER]
          : current.filter((f) => f !== FINALIZER);
        const updated = (await this.o.custom.patchNamespacedCustomObject(
          {
            group: GROUP,
            version: VERSION,
            namespace,
            plural: PLURAL,
            name,
            body: { metadata: { finalizers, resourceVersion: video.metadata.resourceVersion } },
            fieldManager: FIELD_MANAGER,
          },
          MERGE,
        )) as Video;
        this.o.wrote(updated);
        log.info({ finalizer: FINALIZER }, add ? 'finalizer added' : 'finalizer removed');
        if (!add) this.o.onRemoved(video);
        return updated;
      }
      case 'CreateJob': {
        const jobName = action.job.metadata?.name ?? '';
        try {
          const job = await this.o.batch.createNamespacedJob({
            namespace,
            body: action.job,
            fieldManager: FIELD_MANAGER,
          });
          created?.set(jobName, slimJob(job));
          this.o.onJobCreated(action.task);
          log.info({ job: jobName, task: action.task }, 'job created');
        } catch (err) {
          if (httpCode(err) !== 409) throw err;
          const existing = await this.o.batch.readNamespacedJob({ name: jobName, namespace });
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
      case 'WriteRendition': {
        // rendition.json last: the master is built from it (the next pass), after the playlist exists
        const playlist = Buffer.from(action.playlist);
        await this.o.storage.putObject(this.o.mediaBucket, action.playlistKey, playlist, playlist.length, {
          'Content-Type': contentTypeFor(action.playlistKey),
        });
        const meta = Buffer.from(action.metadata);
        await this.o.storage.putObject(this.o.mediaBucket, action.metadataKey, meta, meta.length, {
          'Content-Type': contentTypeFor(action.metadataKey),
        });
        log.info({ rendition: action.rendition, key: action.playlistKey }, 'chunked rendition stitched');
        return video;
      }
      case 'DeleteJobs': {
        for (const job of action.names) {
          try {
            // Background propagation: the Pods go too (a bare DELETE would orphan them).
            await this.o.batch.deleteNamespacedJob({ name: job, namespace, propagationPolicy: 'Background' });
            log.info({ job }, 'job deleted');
          } catch (err) {
            if (httpCode(err) !== 404) throw err;
          }
        }
        return video;
      }
      case 'CleanupMedia': {
        const removed = await removeMedia(this.o.storage, this.o.mediaBucket, uid);
        if (this.o.deleteSourceOnDelete && video.spec.source.bucket === this.o.sourceBucket)
          await removeSource(this.o.storage, video.spec.source.bucket, video.spec.source.key);
        log.info({ removed, prefix: keys.prefix(uid) }, 'media removed');
        this.o.onEvents(video, [
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
}
