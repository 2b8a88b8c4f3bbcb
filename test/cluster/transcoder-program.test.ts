/**
 * The transcoder program itself (the image's ENTRYPOINT, transcoder-image/main.ts) as Jobs on the kind
 * cluster, with the environment contract of common/video/transcoder-contract.ts: a source uploaded from
 * the host is turned into a 480p HLS rendition and a thumbnail in the in-cluster S3 server; a missing
 * source fails the Job at once with exit code 2 and the reason as the termination message.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import * as k8s from '@kubernetes/client-node';
import { EXIT_CODES, TRANSCODER_ENV, keys } from '../../common/video/index.js';
import { CLUSTER, clusterConfig } from '../support/cluster-hooks.js';
import { createTestNamespace, deleteNamespace } from '../support/kube.js';
import { generateClip } from '../support/media.js';
import { deployVersitygw, portForward, restrictedContainer, s3Client, waitForJobEnd } from './support.js';

const SOURCES = 'videoflix-sources';
const MEDIA = 'videoflix-media';

describe('cluster tier: the transcoder program as Jobs', function () {
  const kc = clusterConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const batch = kc.makeApiClient(k8s.BatchV1Api);
  let namespace: string;
  let s3Endpoint: string;
  let fwd: { port: number; close: () => void } | undefined;
  const videoId = `cluster-${Date.now()}`;

  before(async function () {
    namespace = await createTestNamespace(kc, 'transcoder');
    s3Endpoint = await deployVersitygw(kc, namespace);
    fwd = await portForward(namespace, 'svc/s3', 7070);
    const s3 = s3Client(fwd.port);
    await s3.makeBucket(SOURCES, 'us-east-1');
    await s3.makeBucket(MEDIA, 'us-east-1');
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'videoflix-cluster-'));
    try {
      const clip = await generateClip(dir, { durationSec: 8, width: 854, height: 480 });
      await s3.fPutObject(SOURCES, keys.source(videoId), clip, { 'Content-Type': 'video/mp4' });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
  after(async function () {
    fwd?.close();
    if (namespace && process.env.KEEP_NAMESPACE !== '1') await deleteNamespace(kc, namespace);
  });

  function transcoderJob(name: string, args: string[], sourceKey: string): k8s.V1Job {
    return {
      metadata: { name },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            containers: [
              {
                ...restrictedContainer,
                name: 'transcoder',
                image: CLUSTER.images.transcoder,
                args,
                env: [
                  { name: TRANSCODER_ENV.mediaId, value: videoId },
                  { name: TRANSCODER_ENV.sourceBucket, value: SOURCES },
                  { name: TRANSCODER_ENV.sourceKey, value: sourceKey },
                  { name: TRANSCODER_ENV.mediaBucket, value: MEDIA },
                  { name: 'S3_ENDPOINT', value: s3Endpoint },
                  { name: 'WORK_DIR', value: '/work' },
                ],
                envFrom: [{ secretRef: { name: 's3-credentials' } }],
                resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } },
                volumeMounts: [{ name: 'work', mountPath: '/work' }],
              },
            ],
            volumes: [{ name: 'work', emptyDir: {} }],
          },
        },
      },
    };
  }

  async function podOf(job: string): Promise<k8s.V1Pod> {
    const pods = await core.listNamespacedPod({
      namespace,
      labelSelector: `batch.kubernetes.io/job-name=${job}`,
    });
    expect(pods.items, `pods of job ${job}`).to.have.length(1);
    return pods.items[0]!;
  }
  async function logOf(pod: k8s.V1Pod): Promise<string> {
    return core.readNamespacedPodLog({ namespace, name: pod.metadata!.name! });
  }

  it('encodes the 480p rendition and the thumbnail into the media bucket', async function () {
    await batch.createNamespacedJob({
      namespace,
      body: transcoderJob('rendition-480p', ['rendition', '480p'], keys.source(videoId)),
    });
    await batch.createNamespacedJob({
      namespace,
      body: transcoderJob('thumbnail', ['thumbnail'], keys.source(videoId)),
    });
    for (const job of ['rendition-480p', 'thumbnail']) {
      const { type } = await waitForJobEnd(batch, namespace, job, 300_000);
      const pod = await podOf(job);
      expect(type, `job ${job}, log:\n${await logOf(pod)}`).to.equal('Complete');
    }
    const s3 = s3Client(fwd!.port);
    const names: string[] = [];
    for await (const o of s3.listObjectsV2(MEDIA, keys.prefix(videoId), true)) if (o.name) names.push(o.name);
    expect(names).to.include.members([
      keys.playlist(videoId, '480p'),
      keys.renditionMeta(videoId, '480p'),
      keys.thumbnail(videoId),
      keys.probe(videoId),
    ]);
    expect(names.filter((n) => /\/480p\/segment_\d+\.ts$/.test(n)).length).to.be.at.least(1);
    const playlist = await (await s3.getObject(MEDIA, keys.playlist(videoId, '480p'))).toArray();
    expect(Buffer.concat(playlist).toString())
      .to.match(/^#EXTM3U/)
      .and.to.match(/#EXT-X-ENDLIST/);
  });

  it('fails at once with exit code 2 and the reason as termination message when the source is missing', async function () {
    await batch.createNamespacedJob({
      namespace,
      body: transcoderJob('missing-source', ['rendition', '480p'], `${videoId}/no-such-object`),
    });
    const { type } = await waitForJobEnd(batch, namespace, 'missing-source', 120_000);
    expect(type).to.equal('Failed');
    const pod = await podOf('missing-source');
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    expect(terminated?.exitCode, `log:\n${await logOf(pod)}`).to.equal(EXIT_CODES.badInput);
    expect(terminated?.message ?? '').to.match(/source|not found|NoSuchKey/i);
  });
});
