import { expect } from 'chai';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import {
  LABELS,
  MAX_TERMINATION_MESSAGE_BYTES,
  type ProbeResult,
  type Video,
} from '../../../common/video/index.js';
import { decide, needsRenditionMetadata, type Observed } from '../../../operator/video/decide.js';
import {
  RENDITION_PODS_SELECTOR,
  parseRenditionMessage,
  podResult,
  podResultChanged,
  podResultsFor,
  slimPod,
} from '../../../operator/video/pod-results.js';
import { job, jobs, meta, NOW, settings, video } from './fixtures.js';

const JOB_UID = 'a1b2c3d4-0000-4000-8000-000000000480';

function withUid(j: V1Job, uid: string): V1Job {
  return { ...j, metadata: { ...j.metadata, uid } };
}

/** A rendition Pod as the kubelet reports it once its container exited. */
function pod(
  rendition: string,
  o: { phase?: string; exitCode?: number; message?: string; jobUid?: string; job?: string } = {},
): V1Pod {
  const jobName = o.job ?? `demo-${rendition}`;
  return {
    metadata: {
      name: `${jobName}-x7k2p`,
      namespace: 'media',
      uid: `pod-${rendition}`,
      resourceVersion: '7',
      labels: {
        [LABELS.managedBy]: 'videoflix-operator',
        [LABELS.rendition]: rendition,
        'batch.kubernetes.io/job-name': jobName,
      },
      annotations: { big: 'x'.repeat(1000) },
      managedFields: [{ manager: 'kubelet' }],
      ownerReferences: [
        { apiVersion: 'batch/v1', kind: 'Job', name: jobName, uid: o.jobUid ?? JOB_UID, controller: true },
      ],
    },
    spec: { containers: [{ name: 'transcoder', image: 'videoflix-transcoder:test', env: [] }] },
    status: {
      phase: o.phase ?? 'Succeeded',
      containerStatuses: [
        {
          name: 'transcoder',
          image: 'videoflix-transcoder:test',
          imageID: 'sha256:abc',
          ready: false,
          restartCount: 0,
          state: {
            terminated: {
              exitCode: o.exitCode ?? 0,
              reason: 'Completed',
              finishedAt: NOW,
              ...(o.message !== undefined ? { message: o.message } : {}),
            },
          },
        },
      ],
    },
  };
}

const msg = (name: '480p' | '720p' | '1080p') => JSON.stringify(meta(name));

describe('operator/video/pod-results', () => {
  describe('parseRenditionMessage', () => {
    it('reads a rendition.json written for this rung', () => {
      expect(parseRenditionMessage(msg('480p'), '480p')).to.deep.equal(meta('480p'));
    });

    it('ignores what is not one: empty, not JSON, truncated, another rung, a schema mismatch, a failure line', () => {
      expect(parseRenditionMessage(undefined, '480p')).to.equal(undefined);
      expect(parseRenditionMessage('', '480p')).to.equal(undefined);
      expect(parseRenditionMessage('storage error: connection refused\n', '480p')).to.equal(undefined);
      expect(parseRenditionMessage(msg('480p').slice(0, 60), '480p')).to.equal(undefined);
      expect(parseRenditionMessage(msg('720p'), '480p')).to.equal(undefined);
      expect(parseRenditionMessage(JSON.stringify({ ...meta('480p'), bandwidth: -1 }), '480p')).to.equal(
        undefined,
      );
      expect(parseRenditionMessage('null', '480p')).to.equal(undefined);
      expect(parseRenditionMessage('[1,2]', '480p')).to.equal(undefined);
    });

    it("ignores a message over the kubelet's limit, even when it parses", () => {
      const long = JSON.stringify({ ...meta('480p'), pad: 'x'.repeat(MAX_TERMINATION_MESSAGE_BYTES) });
      expect(JSON.parse(long)).to.have.property('pad');
      expect(parseRenditionMessage(long, '480p')).to.equal(undefined);
      const fits = JSON.stringify({ ...meta('480p'), pad: 'x'.repeat(100) });
      expect(parseRenditionMessage(fits, '480p')).to.deep.equal(meta('480p'));
    });
  });

  describe('podResult', () => {
    it('a Pod that Succeeded, exit 0, with a valid message: its Job, the rung and the metadata', () => {
      expect(podResult(pod('720p', { message: msg('720p') }))).to.deep.equal({
        job: 'demo-720p',
        jobUid: JOB_UID,
        rendition: '720p',
        metadata: meta('720p'),
      });
    });

    it('nothing for a Pod still running, failed, without message or labelled for another rung', () => {
      expect(podResult(pod('720p', { phase: 'Running', message: msg('720p') }))).to.equal(undefined);
      expect(podResult(pod('720p', { phase: 'Failed', exitCode: 3, message: msg('720p') }))).to.equal(
        undefined,
      );
      expect(podResult(pod('720p', { exitCode: 1, message: msg('720p') }))).to.equal(undefined);
      expect(podResult(pod('720p'))).to.equal(undefined);
      expect(podResult(pod('720p', { message: msg('480p') }))).to.equal(undefined);
      expect(podResult(pod('4k', { message: msg('480p') }))).to.equal(undefined);
      const orphan = pod('720p', { message: msg('720p') });
      orphan.metadata!.ownerReferences = [];
      expect(podResult(orphan)).to.equal(undefined);
      const noStatus: V1Pod = { metadata: pod('720p').metadata! };
      expect(podResult(noStatus)).to.equal(undefined);
    });
  });

  describe('slimPod (what the informer caches)', () => {
    it('keeps labels, owner, phase, exit code and a success message; drops spec, annotations, managedFields', () => {
      const slim = slimPod(pod('480p', { message: msg('480p') }));
      expect(slim.spec).to.equal(undefined);
      expect(slim.metadata).to.not.have.property('annotations');
      expect(slim.metadata).to.not.have.property('managedFields');
      expect(podResult(slim)).to.deep.equal(podResult(pod('480p', { message: msg('480p') })));
      expect(JSON.stringify(slim).length).to.be.below(1500);
    });

    it('drops the message of a failed Pod, and one over the limit', () => {
      const failed = slimPod(pod('480p', { phase: 'Failed', exitCode: 3, message: 'storage error: x' }));
      expect(failed.status?.containerStatuses?.[0]?.state?.terminated).to.deep.equal({
        exitCode: 3,
        finishedAt: NOW,
      });
      const big = slimPod(pod('480p', { message: 'y'.repeat(MAX_TERMINATION_MESSAGE_BYTES + 1) }));
      expect(big.status?.containerStatuses?.[0]?.state?.terminated).to.not.have.property('message');
    });

    it('a Pod that has not terminated keeps its phase only', () => {
      const p = pod('480p');
      p.status = { phase: 'Pending' };
      expect(slimPod(p).status).to.deep.equal({ phase: 'Pending' });
    });
  });

  it('podResultChanged: only when the result appears, goes or differs', () => {
    const running = pod('480p', { phase: 'Running' });
    const done = pod('480p', { message: msg('480p') });
    expect(podResultChanged(pod('480p', { phase: 'Pending' }), running)).to.equal(false);
    expect(podResultChanged(running, done)).to.equal(true);
    expect(
      podResultChanged(done, { ...done, metadata: { ...done.metadata, resourceVersion: '9' } }),
    ).to.equal(false);
    expect(podResultChanged(running, pod('480p', {}))).to.equal(false);
  });

  it('podResultsFor: by Job name, only for the Job of that name now (uid)', () => {
    const j = jobs(
      withUid(job('demo-480p', undefined), JOB_UID),
      withUid(job('demo-720p', undefined), 'new'),
    );
    const results = podResultsFor(
      [
        pod('480p', { message: msg('480p') }),
        pod('720p', { message: msg('720p'), jobUid: 'retired' }),
        pod('1080p', { message: msg('1080p') }),
      ],
      j,
    );
    expect([...results.keys()]).to.deep.equal(['demo-480p']);
  });

  it('the informer selects rendition Pods of the operator only', () => {
    expect(RENDITION_PODS_SELECTOR).to.equal(`${LABELS.managedBy}=videoflix-operator,${LABELS.rendition}`);
  });

  describe('decide with Pod results', () => {
    const probe: ProbeResult = { durationSeconds: 30, width: 1920, height: 1080, hasAudio: true };
    const probed = {
      source: { width: probe.width, height: probe.height, durationSeconds: 30, hasAudio: true },
    } as Video['status'];
    const RUNGS = ['480p', '720p', '1080p'] as const;
    /** The thumbnail Job Complete, a Job per rung: Complete when named, else still active. */
    const ladder = (...complete: string[]) =>
      jobs(
        job('demo-thumbnail', 'Complete'),
        ...RUNGS.map((r) => job(`demo-${r}`, complete.includes(r) ? 'Complete' : undefined)),
      );
    const active = ladder();
    const obs = (v: Video, o: Partial<Observed>): Observed => ({ video: v, jobs: active, now: NOW, ...o });
    const all = new Map(RUNGS.map((r) => [`demo-${r}`, meta(r)]));

    it('a rendition whose Pod reported success counts before its Job is Complete', () => {
      const v = video({}, {}, probed);
      const d = decide(obs(v, { podResults: new Map([['demo-720p', meta('720p')]]) }), { jobs: settings });
      expect(d.status?.renditions?.map((r) => r.phase)).to.deep.equal(['Running', 'Succeeded', 'Running']);
      expect(d.status?.renditionsSummary).to.equal('1/3');
      expect(needsRenditionMetadata(v, active, undefined, all)).to.equal(true);
      expect(needsRenditionMetadata(v, active, undefined, new Map([['demo-720p', meta('720p')]]))).to.equal(
        false,
      );
      expect(needsRenditionMetadata(v, active)).to.equal(false);
    });

    it('all done by their Pods: the master written once; the Jobs Complete later change nothing', () => {
      const v = video({}, {}, probed);
      const metadata = { ok: RUNGS.map((r) => meta(r)) };
      const d = decide(obs(v, { podResults: all, metadata }), { jobs: settings });
      expect(d.actions.map((a) => a.type)).to.deep.equal(['WriteMaster']);
      expect(d.status?.phase).to.equal('Ready');
      const next = { ...v, status: d.status } as Video;
      const complete = ladder(...RUNGS);
      expect(needsRenditionMetadata(next, complete)).to.equal(false);
      for (const o of [{ jobs: complete }, { jobs: complete, podResults: all }, { podResults: all }]) {
        const again = decide(obs(next, o), { jobs: settings });
        expect(again.actions).to.deep.equal([]);
        expect(again.status).to.deep.equal(d.status);
      }
    });

    it('without Pod results the Job Complete condition still counts (fallback)', () => {
      const v = video({}, {}, probed);
      const d = decide(obs(v, { jobs: ladder('480p') }), { jobs: settings });
      expect(d.status?.renditions?.map((r) => r.phase)).to.deep.equal(['Succeeded', 'Running', 'Running']);
    });
  });
});
