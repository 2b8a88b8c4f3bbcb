/**
 * Real Jobs on the kind cluster with the locally built images: the transcoder image encodes a clip it
 * generates (ffmpeg's lavfi test source) and uploads it to versitygw running in the cluster, reached
 * through its Service name; a Job that exits 1 ends Failed after its backoffLimit and its Pods carry
 * the termination message.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import { Client } from 'minio';
import { CLUSTER, clusterConfig } from '../support/cluster-hooks.js';
import { createTestNamespace, deleteNamespace } from '../support/kube.js';
import { probe } from '../support/media.js';
import {
  deployVersitygw,
  portForward,
  restrictedContainer,
  S3_CREDENTIALS,
  s3Client,
  waitForJobEnd,
} from './support.js';

// Runs inside the transcoder image, which carries no node_modules (the program is one bundled file):
// Node's own fetch PUTs the clip to a URL the test presigned (the S3 server checks its signature).
const UPLOAD_SCRIPT = `
import fs from 'node:fs';
const res = await fetch(process.env.PUT_URL, { method: 'PUT', body: fs.readFileSync('/work/out.mp4'),
  headers: { 'content-type': 'video/mp4' } });
if (!res.ok) throw new Error('PUT ' + res.status + ': ' + (await res.text()));
console.log('uploaded s3://' + process.env.BUCKET + '/' + process.env.KEY);
`;

describe('cluster tier: Jobs with the project images', function () {
  const kc = clusterConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  let namespace: string;
  let s3Endpoint: string;
  let fwd: Awaited<ReturnType<typeof portForward>> | undefined;

  before(async function () {
    namespace = await createTestNamespace(kc, 'jobs');
    s3Endpoint = await deployVersitygw(kc, namespace);
  });
  afterEach(function () {
    fwd?.close();
    fwd = undefined;
  });
  after(async function () {
    if (namespace && process.env.KEEP_NAMESPACE !== '1') await deleteNamespace(kc, namespace);
  });

  it('encodes a generated clip in the transcoder image and stores it in the in-cluster S3 server', async function () {
    const bucket = 'videoflix-media';
    const key = `cluster-test/${Date.now()}/out.mp4`;
    // the bucket made from the host through a port-forward to the Service; the PUT URL signed for the
    // Service's in-cluster address (signing needs no connection: the region is given)
    fwd = await portForward(namespace, 'svc/s3', 7070);
    const s3 = s3Client(fwd.port);
    if (!(await s3.bucketExists(bucket))) await s3.makeBucket(bucket, 'us-east-1');
    const inCluster = new URL(s3Endpoint);
    const putUrl = await new Client({
      endPoint: inCluster.hostname,
      port: Number(inCluster.port),
      useSSL: false,
      region: 'us-east-1',
      pathStyle: true,
      ...S3_CREDENTIALS,
    }).presignedPutObject(bucket, key, 600);
    await batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'encode' },
        spec: {
          backoffLimit: 0,
          ttlSecondsAfterFinished: 600,
          template: {
            spec: {
              restartPolicy: 'Never',
              automountServiceAccountToken: false,
              containers: [
                {
                  ...restrictedContainer,
                  name: 'transcoder',
                  image: CLUSTER.images.transcoder,
                  workingDir: '/app',
                  command: ['sh', '-c'],
                  args: [
                    'set -e; ffmpeg -hide_banner -loglevel error -f lavfi -i testsrc=duration=3:size=640x360:rate=25 ' +
                      '-f lavfi -i sine=frequency=440:duration=3 -c:v libx264 -preset veryfast -pix_fmt yuv420p ' +
                      '-c:a aac -b:a 96k -shortest -movflags +faststart /work/out.mp4 && ' +
                      'node --input-type=module -e "$UPLOAD_SCRIPT"',
                  ],
                  env: [
                    { name: 'PUT_URL', value: putUrl },
                    { name: 'BUCKET', value: bucket },
                    { name: 'KEY', value: key },
                    { name: 'UPLOAD_SCRIPT', value: UPLOAD_SCRIPT },
                    { name: 'HOME', value: '/work' },
                  ],
                  resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
                  volumeMounts: [{ name: 'work', mountPath: '/work' }],
                },
              ],
              volumes: [{ name: 'work', emptyDir: {} }],
            },
          },
        },
      },
    });
    const { type } = await waitForJobEnd(batch, namespace, 'encode');
    const pods = await core.listNamespacedPod({
      namespace,
      labelSelector: 'batch.kubernetes.io/job-name=encode',
    });
    const log = pods.items[0]
      ? await core.readNamespacedPodLog({ namespace, name: pods.items[0].metadata!.name! })
      : '';
    expect(type, `job log:\n${log}`).to.equal('Complete');
    expect(log).to.contain(`uploaded s3://${bucket}/${key}`);

    // the object, read back from the host through the port-forward
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'videoflix-cluster-'));
    try {
      const stat = await s3.statObject(bucket, key);
      expect(stat.size).to.be.greaterThan(10_000);
      expect(stat.metaData['content-type']).to.equal('video/mp4');
      const file = path.join(dir, 'out.mp4');
      await s3.fGetObject(bucket, key, file);
      const info = await probe(file);
      const video = info.streams.find((s) => s.codec_type === 'video');
      expect(video?.codec_name).to.equal('h264');
      expect(video?.width).to.equal(640);
      expect(info.streams.some((s) => s.codec_type === 'audio')).to.equal(true);
      expect(Number(info.format.duration)).to.be.within(2.5, 3.5);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('ends a Job whose command exits 1 as Failed after its backoffLimit, with the termination message on the Pods', async function () {
    const message = 'transcode failed: synthetic error for the cluster test';
    await batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'fail' },
        spec: {
          backoffLimit: 1,
          template: {
            spec: {
              restartPolicy: 'Never',
              automountServiceAccountToken: false,
              containers: [
                {
                  ...restrictedContainer,
                  name: 'transcoder',
                  image: CLUSTER.images.transcoder,
                  command: ['sh', '-c', `echo '${message}' > /dev/termination-log; exit 1`],
                },
              ],
            },
          },
        },
      },
    });
    const { job, type } = await waitForJobEnd(batch, namespace, 'fail');
    expect(type).to.equal('Failed');
    const failed = job.status?.conditions?.find((c) => c.type === 'Failed');
    expect(failed?.reason).to.equal('BackoffLimitExceeded');
    expect(job.status?.failed).to.equal(2); // the first try + backoffLimit 1 retry
    const pods = await core.listNamespacedPod({
      namespace,
      labelSelector: 'batch.kubernetes.io/job-name=fail',
    });
    expect(pods.items).to.have.length(2);
    for (const pod of pods.items) {
      const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
      expect(pod.status?.phase).to.equal('Failed');
      expect(terminated?.exitCode).to.equal(1);
      expect(terminated?.message?.trim()).to.equal(message);
    }
  });
});
