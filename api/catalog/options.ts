/** What the catalog use cases work with (built by createCatalog from the configuration). */
import type { Sequelize } from 'sequelize';
import type { Logger } from '../../common/logging/index.js';
import type { VideoClient } from '../infra/kube.js';
import type { ObjectStorage } from '../infra/storage.js';
import type { VideoRow } from '../models/video.js';

export interface CatalogOptions {
  sequelize: Sequelize;
  Video: typeof VideoRow;
  storage: ObjectStorage;
  kube: VideoClient;
  logger: Logger;
  sourceBucket: string;
  mediaBucket: string;
  uploadStaleSeconds: number;
  /** Deleted rows (tombstones) older than this are purged by the resync (default 7 days). */
  tombstoneSeconds?: number;
  /**
   * How long `findReady` may answer from memory (default 5 s; 0: always read). This process drops
   * the cache on each of its own writes; a change made by another replica is seen within this time.
   */
  readyCacheMs?: number;
  /** Rows `findReady` keeps at most (default 1000). */
  readyCacheMax?: number;
  now?: () => number;
}
