/** The S3 client (any S3-compatible store, path-style) from an endpoint URL. */
import { Client as MinioClient } from 'minio';

export function minioFrom(endpoint: string, region: string, accessKey: string, secretKey: string): MinioClient {
  const url = new URL(endpoint);
  return new MinioClient({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    useSSL: url.protocol === 'https:',
    region,
    accessKey,
    secretKey,
    pathStyle: true,
  });
}
