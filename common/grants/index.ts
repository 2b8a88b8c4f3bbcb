/**
 * Least privilege for the platform's own identities, in one table: what each component may do in the
 * object store and in RabbitMQ. The bucket hook (api/cli/setup-storage.ts) turns the S3 part into bucket
 * policies; the bundled RabbitMQ's entrypoint applies the AMQP part with rabbitmqctl (the chart passes
 * it in the environment); the host-tier tests apply both and attack them.
 *
 * S3, per component (bucket policies naming each component's access key):
 * - api: uploads sources (PutObject, AbortMultipartUpload, DeleteObject of a failed upload, GetObject
 *   for the size check), sweeps multipart uploads left incomplete in sources (ListBucketMultipartUploads:
 *   upload ids, not objects), resumes tus uploads from the parts stored so far (ListMultipartUploadParts:
 *   the parts of one upload) and streams HLS (GetObject on media). It never lists a bucket's objects and
 *   never writes media.
 * - operator: reads rendition metadata and writes master playlists (GetObject, PutObject on media),
 *   deletes a Video's objects (ListBucket + DeleteObject on both buckets). It never reads sources.
 * - transcoder: reads one source (GetObject on sources), writes renditions and thumbnails (PutObject
 *   on media) and checks that the media bucket exists (ListBucket on media, the HeadBucket action).
 *   Chunked renditions (issue 24) read media too (GetObject): a chunk its audio piece, the stitch step
 *   the chunks' metadata and segments. It cannot delete anything or write sources. One identity serves every transcoder Job, so
 *   it can write under any video's prefix of the media bucket (see the chart README).
 */

export type Component = 'api' | 'operator' | 'transcoder';
export const COMPONENTS: readonly Component[] = ['api', 'operator', 'transcoder'];

export interface Buckets {
  sourceBucket: string;
  mediaBucket: string;
}

/** One statement of an S3 bucket policy (the subset versitygw and AWS share). */
export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Principal: { AWS: string[] };
  Action: string[];
  Resource: string[];
}
export interface BucketPolicy {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

type Grant = { bucket: keyof Buckets; actions: string[] };

/** What each component may do, per bucket (object actions apply to every key of the bucket). */
export const S3_GRANTS: Record<Component, Grant[]> = {
  api: [
    {
      bucket: 'sourceBucket',
      actions: [
        's3:ListBucketMultipartUploads',
        's3:PutObject',
        's3:AbortMultipartUpload',
        's3:ListMultipartUploadParts',
        's3:GetObject',
        's3:DeleteObject',
      ],
    },
    { bucket: 'mediaBucket', actions: ['s3:GetObject'] },
  ],
  operator: [
    { bucket: 'sourceBucket', actions: ['s3:ListBucket', 's3:DeleteObject'] },
    { bucket: 'mediaBucket', actions: ['s3:ListBucket', 's3:GetObject', 's3:PutObject', 's3:DeleteObject'] },
  ],
  transcoder: [
    { bucket: 'sourceBucket', actions: ['s3:GetObject'] },
    {
      bucket: 'mediaBucket',
      actions: ['s3:ListBucket', 's3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
    },
  ],
};

const BUCKET_ACTIONS = new Set(['s3:ListBucket', 's3:ListBucketMultipartUploads']);

/**
 * The bucket policy of each bucket: one statement per component and kind of resource (the bucket for
 * bucket actions, `bucket/*` for object actions), naming the component's access key as principal.
 */
export function bucketPolicies(
  buckets: Buckets,
  accessKeys: Record<Component, string>,
): Map<string, BucketPolicy> {
  const out = new Map<string, BucketPolicy>();
  for (const which of ['sourceBucket', 'mediaBucket'] as const) {
    const bucket = buckets[which];
    const statements: PolicyStatement[] = [];
    for (const component of COMPONENTS) {
      for (const grant of S3_GRANTS[component].filter((g) => g.bucket === which)) {
        const bucketActions = grant.actions.filter((a) => BUCKET_ACTIONS.has(a));
        const objectActions = grant.actions.filter((a) => !BUCKET_ACTIONS.has(a));
        const principal = { AWS: [accessKeys[component]] };
        if (bucketActions.length > 0) {
          statements.push({
            Sid: `${component}-bucket`,
            Effect: 'Allow',
            Principal: principal,
            Action: bucketActions,
            Resource: [`arn:aws:s3:::${bucket}`],
          });
        }
        if (objectActions.length > 0) {
          statements.push({
            Sid: `${component}-objects`,
            Effect: 'Allow',
            Principal: principal,
            Action: objectActions,
            Resource: [`arn:aws:s3:::${bucket}/*`],
          });
        }
      }
    }
    out.set(bucket, { Version: '2012-10-17', Statement: statements });
  }
  return out;
}

/** RabbitMQ permissions of one user on the vhost: regular expressions over resource names. */
export interface AmqpPermissions {
  configure: string;
  write: string;
  read: string;
}

const quote = (n: string) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const exact = (...names: string[]) => `^(${names.map(quote).join('|')})$`;
/** Matches no resource name (RabbitMQ's way of granting nothing). */
export const AMQP_NOTHING = '^$';

/** The dead-letter exchange and queue of the API's status queue (api/infra/status-consumer.ts declares them). */
export const deadLetterNames = (queue: string) => ({ exchange: `${queue}.dlx`, queue: `${queue}.dead` });

/** The operator's progress queues (one per replica, exclusive): `<progress exchange>.operator.<pod>`. */
export const progressQueueName = (progressExchange: string, identity: string) =>
  `${progressExchange}.operator.${identity.replace(/[^A-Za-z0-9._-]/g, '-')}`;

/**
 * RabbitMQ permissions: the operator declares the status exchange and publishes to it; the API
 * declares (the same arguments) the exchange, its own quorum queue and that queue's dead-letter
 * exchange and queue (deadLetterNames), binds the queues (write on the queue, read on the exchange)
 * and consumes from its queue; when given, the queue of an earlier version (legacyQueue) is unbound,
 * drained and deleted. The API cannot publish to the status exchange (no write on it), the operator
 * cannot read any queue. The broker wants write on a queue's dead-letter exchange from whoever declares
 * the queue: the API may publish to its own dead-letter exchange, which routes to its own dead queue only.
 *
 * With a progress exchange (common/video/progress.ts): the transcoder may only publish to it (no
 * configure, no read: it checks the exchange passively); the operator also declares it and its own
 * progress queues (progressQueueName), binds them and consumes from them, and cannot publish to it.
 */
export function amqpPermissions(
  exchange: string,
  apiQueue: string,
  legacyQueue?: string,
  progressExchange?: string,
): Record<'api' | 'operator', AmqpPermissions> & { transcoder?: AmqpPermissions } {
  const dead = deadLetterNames(apiQueue);
  const legacy = legacyQueue && legacyQueue !== apiQueue ? [legacyQueue] : [];
  const api = {
    configure: exact(exchange, apiQueue, dead.exchange, dead.queue, ...legacy),
    write: exact(apiQueue, dead.exchange, dead.queue, ...legacy),
    read: exact(exchange, apiQueue, dead.exchange, ...legacy),
  };
  if (!progressExchange)
    return { api, operator: { configure: exact(exchange), write: exact(exchange), read: AMQP_NOTHING } };
  const queues = `${quote(progressQueueName(progressExchange, ''))}[A-Za-z0-9._-]+`;
  const ex = quote(exchange);
  const px = quote(progressExchange);
  return {
    api,
    operator: {
      configure: `^(${ex}|${px}|${queues})$`,
      write: `^(${ex}|${queues})$`,
      read: `^(${px}|${queues})$`,
    },
    transcoder: { configure: AMQP_NOTHING, write: exact(progressExchange), read: AMQP_NOTHING },
  };
}
