import { expect } from 'chai';
import { API_VERSION, EXIT_CODES, LABELS, TRANSCODER_ENV } from '../../../common/video/index.js';
import {
  buildJob,
  childName,
  jobName,
  labelValue,
  MAX_NAME,
  OWNED_JOBS_SELECTOR,
} from '../../../operator/video/jobs.js';
import { settings, UID, video } from './fixtures.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('operator/video/jobs', () => {
  describe('childName', () => {
    it('is <video>-<task> when it fits', () => {
      expect(childName('demo', '1080p')).to.equal('demo-1080p');
      expect(childName('demo', 'thumbnail')).to.equal('demo-thumbnail');
    });

    it('hashes names longer than 63 characters, deterministically, keeping the task', () => {
      const long = 'a'.repeat(80);
      const n = childName(long, 'thumbnail');
      expect(n.length).to.be.at.most(MAX_NAME);
      expect(n).to.match(DNS_LABEL);
      expect(n.endsWith('-thumbnail')).to.equal(true);
      expect(childName(long, 'thumbnail')).to.equal(n);
    });

    it('keeps two long names with the same prefix apart', () => {
      const a = childName(`${'x'.repeat(70)}-one`, '720p');
      const b = childName(`${'x'.repeat(70)}-two`, '720p');
      expect(a).to.not.equal(b);
      expect(a.length).to.be.at.most(MAX_NAME);
    });

    it('exactly 63 characters are kept as they are', () => {
      const base = 'b'.repeat(63 - '-1080p'.length);
      expect(childName(base, '1080p')).to.equal(`${base}-1080p`);
      expect(childName(`${base}c`, '1080p')).to.not.equal(`${base}c-1080p`);
    });

    it('does not leave a trailing dot or hyphen before the hash', () => {
      const n = childName(`${'c'.repeat(44)}-.${'d'.repeat(30)}`, 'thumbnail');
      expect(n).to.not.match(/[-.]-/);
    });
  });

  it('labelValue shortens long Video names to 63 characters', () => {
    expect(labelValue('demo')).to.equal('demo');
    const v = labelValue('y'.repeat(100));
    expect(v.length).to.be.at.most(63);
    expect(v).to.match(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
  });

  describe('buildJob', () => {
    const v = video();
    const job = buildJob(v, '720p', settings);
    const pod = job.spec!.template.spec!;
    const c = pod.containers[0]!;
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e]));

    it('is named and labelled deterministically, owned by the Video as controller', () => {
      expect(job.metadata?.name).to.equal('demo-720p');
      expect(jobName(v, '720p')).to.equal('demo-720p');
      expect(job.metadata?.namespace).to.equal('media');
      expect(job.metadata?.ownerReferences).to.deep.equal([
        {
          apiVersion: API_VERSION,
          kind: 'Video',
          name: 'demo',
          uid: UID,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(job.metadata?.labels?.[LABELS.video]).to.equal('demo');
      expect(job.metadata?.labels?.[LABELS.rendition]).to.equal('720p');
      expect(job.metadata?.labels?.[LABELS.managedBy]).to.equal('videoflix-operator');
      expect(OWNED_JOBS_SELECTOR).to.equal('app.kubernetes.io/managed-by=videoflix-operator');
      expect(job.spec?.template.metadata?.labels).to.deep.equal(job.metadata?.labels);
    });

    it('runs the transcoder contract command', () => {
      expect(c.command).to.deep.equal(['node', '/app/dist/transcoder-image/main.js']);
      expect(c.args).to.deep.equal(['rendition', '720p']);
      expect(buildJob(v, 'thumbnail', settings).spec!.template.spec!.containers[0]!.args).to.deep.equal([
        'thumbnail',
      ]);
    });

    it('fails at once on bad input and ignores disruptions', () => {
      expect(job.spec?.backoffLimit).to.equal(2);
      expect(job.spec?.activeDeadlineSeconds).to.equal(3600);
      expect(buildJob(v, 'thumbnail', settings).spec?.activeDeadlineSeconds).to.equal(600);
      const rules = job.spec?.podFailurePolicy?.rules ?? [];
      expect(rules[0]).to.deep.equal({
        action: 'FailJob',
        onExitCodes: {
          containerName: 'transcoder',
          operator: 'In',
          values: [EXIT_CODES.badInput, EXIT_CODES.usage],
        },
      });
      expect(rules[1]).to.deep.equal({
        action: 'Ignore',
        onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }],
      });
      expect(pod.restartPolicy).to.equal('Never');
    });

    it('passes the media id, source and buckets, credentials from the Secret only', () => {
      expect(env[TRANSCODER_ENV.mediaId]?.value).to.equal(UID);
      expect(env[TRANSCODER_ENV.sourceBucket]?.value).to.equal('videoflix-sources');
      expect(env[TRANSCODER_ENV.sourceKey]?.value).to.equal('up/demo.mp4');
      expect(env[TRANSCODER_ENV.mediaBucket]?.value).to.equal('videoflix-media');
      expect(env.S3_ENDPOINT?.value).to.equal('http://s3.example:7070');
      expect(env.S3_ACCESS_KEY?.value).to.equal(undefined);
      expect(env.S3_ACCESS_KEY?.valueFrom?.secretKeyRef).to.deep.equal({
        name: 'videoflix-storage',
        key: 'S3_ACCESS_KEY',
      });
      expect(env.S3_SECRET_KEY?.valueFrom?.secretKeyRef).to.deep.equal({
        name: 'videoflix-storage',
        key: 'S3_SECRET_KEY',
      });
      expect(env[TRANSCODER_ENV.thumbnailTime]).to.equal(undefined);
      const withTime = buildJob(video({}, { thumbnailTime: 4.5 }), 'thumbnail', settings);
      expect(
        withTime.spec!.template.spec!.containers[0]!.env!.find((e) => e.name === TRANSCODER_ENV.thumbnailTime)
          ?.value,
      ).to.equal('4.5');
    });

    it('runs as non-root without an API token, with requests and limits per rendition', () => {
      expect(pod.serviceAccountName).to.equal('videoflix-transcoder');
      expect(pod.automountServiceAccountToken).to.equal(false);
      expect(pod.securityContext?.runAsNonRoot).to.equal(true);
      expect(pod.securityContext?.runAsUser).to.equal(1000);
      expect(c.securityContext?.allowPrivilegeEscalation).to.equal(false);
      expect(c.securityContext?.readOnlyRootFilesystem).to.equal(true);
      expect(c.securityContext?.capabilities?.drop).to.deep.equal(['ALL']);
      expect(c.terminationMessagePolicy).to.equal('FallbackToLogsOnError');
      // the transcoder writes where the kubelet reads (a rendition's result, a failure's line)
      expect(c.env!.find((e) => e.name === TRANSCODER_ENV.terminationMessagePath)?.value).to.equal(
        c.terminationMessagePath,
      );
      expect(c.resources).to.deep.equal(settings.resources['720p']);
      expect(
        buildJob(v, '1080p', settings).spec!.template.spec!.containers[0]!.resources?.limits?.memory,
      ).to.equal('2Gi');
      expect(c.volumeMounts).to.deep.equal([{ name: 'tmp', mountPath: '/tmp' }]);
    });

    it('is pure: the same inputs give the same Job', () => {
      expect(buildJob(v, '720p', settings)).to.deep.equal(job);
    });

    it('a rendition started before the probe may carry SKIP_TALLER_THAN_SOURCE; Pods stop quickly', () => {
      const flag = (j: typeof job) =>
        j.spec!.template.spec!.containers[0]!.env!.filter((e) => e.name === 'SKIP_TALLER_THAN_SOURCE');
      expect(flag(job)).to.deep.equal([]);
      expect(flag(buildJob(v, '720p', settings, { skipTallerThanSource: true }))).to.deep.equal([
        { name: 'SKIP_TALLER_THAN_SOURCE', value: '1' },
      ]);
      expect(job.spec!.template.spec!.terminationGracePeriodSeconds).to.be.within(1, 10);
    });
  });
});
