/** What the catalog routers are built from (createCatalog fills it in). */
import type { Logger } from '../../../common/logging/index.js';
import type { ObjectStorage } from '../../infra/storage.js';
import type { MediaUrlSigner } from '../../security/media-urls.js';
import type { ChangeFeed } from '../changes.js';
import type { CatalogService } from '../service.js';
import type { SegmentUrls } from '../streaming.js';
import type { InFlightUploads } from './in-flight.js';
import type { ResumableUploads } from './resumable.js';
import type { UploadResult } from './upload.js';

export interface CatalogRouteDeps {
  /** Uploads in progress (aborted by the shutdown). */
  uploads?: InFlightUploads;
  catalog: CatalogService;
  storage: ObjectStorage;
  mediaBucket: string;
  sourceBucket: string;
  publicApiUrl: string;
  uploadMaxBytes: number;
  signer: MediaUrlSigner;
  logger: Logger;
  /** Streaming offload (STREAMING_MODE=offload): presigned segment URLs; undefined: proxy mode. */
  offload?: SegmentUrls;
  /** The videos table's change notifications (the list's cache; absent: a fingerprint query per request). */
  changes?: ChangeFeed;
  /** The tus endpoint (/api/admin/uploads/; routes/resumable.ts). */
  resumable?: ResumableUploads;
  /** Each upload's result, bytes and seconds (the API's metrics). */
  onUpload?: (result: UploadResult, bytes: number, seconds: number) => void;
  /** Rewritten playlists kept in memory (per object and row version; default 60 s, 1000 entries). */
  playlistCache?: { ttlMs?: number; max?: number };
}
