/** Raw HTTP for the tests and benchmarks that need what fetch will not do. */
import http from 'node:http';

export interface RawAnswer {
  status: number;
  body: Buffer;
  headers: http.IncomingHttpHeaders;
}

/**
 * GET `url` with a Host header of our choosing (fetch always sends the URL's), e.g. a presigned URL sent to
 * the S3 server as the ingress would forward it, or the API asked for another public host. No redirect is
 * followed.
 */
export function getWithHost(
  url: string,
  host: string,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    http
      .get(
        { hostname: u.hostname, port: u.port, path: u.pathname + u.search, headers: { ...headers, host } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, body: Buffer.concat(chunks), headers: res.headers }),
          );
          res.on('error', reject);
        },
      )
      .on('error', reject);
  });
}
