/**
 * A small AWS Signature Version 4 query signer for presigned GET URLs (S3, path-style): what the API
 * hands to players in streaming offload mode (issue 23), one URL per segment in every variant
 * playlist. Pure and synchronous: no request is sent, nothing is read from the environment.
 *
 * Why not the S3 client's presigner: it is async, re-derives the signing key and builds a URL object
 * per call (minio: one `presignedGetObject` per URL; @aws-sdk's presigner: a middleware stack per
 * call), several times slower for the hundreds of URLs a long video's playlist holds (figures in
 * bench/README.md, "Presigning"). The signing key is derived once per day and region here and kept.
 *
 * The algorithm (docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html):
 *   canonical request = GET \n /<bucket>/<key, each segment URI-encoded> \n <sorted, encoded query
 *   without the signature> \n host:<host> \n\n host \n UNSIGNED-PAYLOAD
 *   string to sign    = AWS4-HMAC-SHA256 \n <amz date> \n <day>/<region>/s3/aws4_request \n hex(sha256(canonical request))
 *   signature         = hex(HMAC(HMAC(HMAC(HMAC(HMAC("AWS4"+secret, day), region), "s3"), "aws4_request"), string to sign))
 * Only `host` is signed: the S3 server checks the Host header the request arrives with, so a URL is
 * valid only on the host it was signed for (and the path, the expiry and every query parameter).
 */
import { createHash, createHmac } from 'node:crypto';

/** The longest X-Amz-Expires S3 accepts (7 days). */
export const MAX_PRESIGN_SECONDS = 604_800;

export interface PresignCredentials {
  accessKey: string;
  secretKey: string;
  region: string;
  /** Default `s3`. */
  service?: string;
}

export interface PresignRequest {
  /** The Host header the request will carry (`host` or `host:port`, as the browser sends it). */
  host: string;
  /** The absolute path, not encoded: `/<bucket>/<key>` for path-style S3 (`presignPath` builds it). */
  path: string;
  /** The signing time (X-Amz-Date). */
  date: Date;
  /** Seconds the URL is valid from `date` (1 .. 604800). */
  expiresSeconds: number;
  /** Extra query parameters, signed too (e.g. `response-cache-control`). */
  query?: Record<string, string>;
}

/** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX (upper case). */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** A path with each segment encoded and the slashes kept (S3 encodes the key once, never twice). */
export function encodePath(path: string): string {
  return path.split('/').map(uriEncode).join('/');
}

/** `/<bucket>/<key>` for path-style addressing. */
export function presignPath(bucket: string, key: string): string {
  return `/${bucket}/${key}`;
}

/** `20130524T000000Z` and `20130524` of a date. */
function amzDates(date: Date): { amzDate: string; day: string } {
  const amzDate = date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  return { amzDate, day: amzDate.slice(0, 8) };
}

export class S3Presigner {
  private readonly service: string;
  /** The signing key of the last day used (a day changes once every 24 h). */
  private keyDay = '';
  private signingKey: Buffer = Buffer.alloc(0);

  constructor(private readonly creds: PresignCredentials) {
    if (!creds.accessKey || !creds.secretKey)
      throw new Error('S3Presigner: access key and secret key required');
    this.service = creds.service ?? 's3';
  }

  private keyFor(day: string): Buffer {
    if (day !== this.keyDay) {
      const kDate = createHmac('sha256', `AWS4${this.creds.secretKey}`).update(day).digest();
      const kRegion = createHmac('sha256', kDate).update(this.creds.region).digest();
      const kService = createHmac('sha256', kRegion).update(this.service).digest();
      this.signingKey = createHmac('sha256', kService).update('aws4_request').digest();
      this.keyDay = day;
    }
    return this.signingKey;
  }

  /** The presigned path and query (`/<path>?X-Amz-...&X-Amz-Signature=...`), relative to the host's origin. */
  presignGet(r: PresignRequest): string {
    if (!Number.isInteger(r.expiresSeconds) || r.expiresSeconds < 1 || r.expiresSeconds > MAX_PRESIGN_SECONDS)
      throw new RangeError(`expiresSeconds must be an integer in 1..${MAX_PRESIGN_SECONDS}`);
    const { amzDate, day } = amzDates(r.date);
    const scope = `${day}/${this.creds.region}/${this.service}/aws4_request`;
    const params: Array<[string, string]> = [
      ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
      ['X-Amz-Credential', `${this.creds.accessKey}/${scope}`],
      ['X-Amz-Date', amzDate],
      ['X-Amz-Expires', String(r.expiresSeconds)],
      ['X-Amz-SignedHeaders', 'host'],
      ...Object.entries(r.query ?? {}),
    ];
    const query = params
      .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
      .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const path = encodePath(r.path);
    const canonical = `GET\n${path}\n${query}\nhost:${r.host.trim()}\n\nhost\nUNSIGNED-PAYLOAD`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${createHash('sha256').update(canonical).digest('hex')}`;
    const signature = createHmac('sha256', this.keyFor(day)).update(toSign).digest('hex');
    return `${path}?${query}&X-Amz-Signature=${signature}`;
  }
}
