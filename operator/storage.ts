/** The S3 client (any S3-compatible store, path-style) from an endpoint URL: common/storage's one. */
import type { Client as MinioClient } from 'minio';
import { createS3Client } from '../common/storage/index.js';

export function minioFrom(
  endpoint: string,
  region: string,
  accessKey: string,
  secretKey: string,
  timeoutMs?: number,
): MinioClient {
  return createS3Client({
    S3_ENDPOINT: endpoint,
    S3_REGION: region,
    S3_ACCESS_KEY: accessKey,
    S3_SECRET_KEY: secretKey,
    ...(timeoutMs !== undefined ? { S3_TIMEOUT_MS: timeoutMs } : {}),
  });
}
