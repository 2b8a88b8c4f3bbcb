/**
 * A ladder that grows: a rung added to spec.renditions of a Ready (or Processing) Video runs only the
 * missing Job, keeps the Video Ready (playable with the rungs it had) while it runs, and writes
 * master.m3u8 again, with every rung, once it is done. decide() is run pass after pass, its status fed
 * back as the API server would store it.
 */
import { expect } from 'chai';
import { DEPRECATED_VERSIONS, GROUP, VERSION, type Video } from '../../../common/video/index.js';
import type { V1Job } from '@kubernetes/client-node';
import { controllerOf } from '../../../operator/video/owned-jobs.js';
import { needsRenditionMetadata } from '../../../operator/video/decide.js';
import { masterCurrent } from '../../../operator/video/phases/publish.js';
import { cond, job, jobs, meta, settings, stepper, types, UID, video } from './fixtures.js';

const S = { jobs: settings };
const step = stepper(S);

const source1080 = { durationSeconds: 30, width: 1920, height: 1080, hasAudio: true };

/** A Video with `ladder` taken to Ready by the operator itself (probe, Jobs, master). */
function readyVideo(ladder: Array<'480p' | '720p' | '1080p'>): { v: Video; done: ReturnType<typeof jobs> } {
  let v = video({}, { renditions: ladder });
  v = step(v).next;
  const done = jobs(job('demo-thumbnail', 'Complete'), ...ladder.map((r) => job(`demo-${r}`, 'Complete')));
  v = step(v, { jobs: done, probe: { ok: source1080 } }).next;
  const { d, next } = step(v, { jobs: done, metadata: { ok: ladder.map((r) => meta(r)) } });
  expect(types(d)).to.deep.equal(['WriteMaster']);
  expect(next.status?.phase).to.equal('Ready');
  return { v: next, done };
}

describe('operator/video: a ladder that grows', () => {
  it('adding a rung to a Ready Video runs only its Job, stays Ready meanwhile, then rewrites the master with it', () => {
    const { v: ready, done } = readyVideo(['480p', '720p']);
    expect(masterCurrent(ready.status)).to.equal(true);
    expect(needsRenditionMetadata(ready, done)).to.equal(false);

    // the admin adds 1080p: a new generation
    const grown: Video = {
      ...ready,
      metadata: { ...ready.metadata, generation: 2 },
      spec: { ...ready.spec, renditions: ['480p', '720p', '1080p'] },
    };
    const first = step(grown, { jobs: done });
    expect(types(first.d)).to.deep.equal(['CreateJob:1080p']); // never the thumbnail, 480p or 720p again
    const s1 = first.d.status!;
    expect(s1.phase).to.equal('Ready'); // the catalog keeps it playable
    expect(cond(s1, 'Ready')).to.include({
      status: 'True',
      observedGeneration: 2,
      message: 'Playable: 480p, 720p',
    });
    expect(cond(s1, 'Transcoded')).to.include({
      status: 'Unknown',
      reason: 'Transcoding',
      observedGeneration: 2,
    });
    expect(s1.renditionsSummary).to.equal('2/3');
    expect(s1.masterPlaylistKey).to.equal(`${UID}/master.m3u8`); // the old master still serves
    expect(s1.renditions?.map((r) => `${r.name}:${r.phase}`)).to.deep.equal([
      '480p:Succeeded',
      '720p:Succeeded',
      '1080p:Running',
    ]);
    expect(masterCurrent(s1)).to.equal(false);

    // while 1080p runs: nothing else happens, no metadata is read
    const running = jobs(...done.values(), job('demo-1080p', undefined));
    const waiting = step(first.next, { jobs: running });
    expect(types(waiting.d)).to.deep.equal([]);
    expect(needsRenditionMetadata(first.next, running)).to.equal(false);

    // 1080p done: the metadata of all three is read and the master written again, with the new rung
    const all = jobs(...done.values(), job('demo-1080p', 'Complete'));
    expect(needsRenditionMetadata(first.next, all)).to.equal(true);
    const last = step(first.next, {
      jobs: all,
      metadata: { ok: [meta('480p'), meta('720p'), meta('1080p')] },
    });
    expect(types(last.d)).to.deep.equal(['WriteMaster']);
    const write = last.d.actions[0];
    if (write?.type !== 'WriteMaster') throw new Error('no WriteMaster');
    expect(write.body).to.contain('RESOLUTION=1920x1080').and.contain('RESOLUTION=854x480');
    expect(last.d.events.map((e) => e.reason)).to.include('PlaylistWritten');
    const s2 = last.d.status!;
    expect(s2.phase).to.equal('Ready');
    expect(cond(s2, 'Transcoded')).to.include({ status: 'True', observedGeneration: 2 });
    expect(cond(s2, 'Ready')).to.include({ message: 'Playable: 480p, 720p, 1080p' });
    expect(s2.renditionsSummary).to.equal('3/3');

    // and once only: the next pass writes nothing
    const again = step(last.next, { jobs: all });
    expect(types(again.d)).to.deep.equal([]);
    expect(needsRenditionMetadata(last.next, all)).to.equal(false);
  });

  it('a rung taller than the source is recorded Skipped: no Job, the master stays as it is', () => {
    const { v: ready, done } = readyVideo(['480p']);
    const low: Video = {
      ...ready,
      status: { ...ready.status, source: { ...source1080, width: 854, height: 480 } },
    };
    const grown: Video = {
      ...low,
      metadata: { ...low.metadata, generation: 2 },
      spec: { ...low.spec, renditions: ['480p', '1080p'] },
    };
    const { d } = step(grown, { jobs: done });
    expect(types(d)).to.deep.equal([]);
    expect(d.status?.renditions?.find((r) => r.name === '1080p')).to.include({ phase: 'Skipped' });
    expect(cond(d.status, 'Transcoded')).to.include({ status: 'True' });
    expect(d.status?.phase).to.equal('Ready');
  });

  it('a title change of a Ready Video rewrites nothing', () => {
    const { v: ready, done } = readyVideo(['480p', '720p']);
    const renamed: Video = {
      ...ready,
      metadata: { ...ready.metadata, generation: 2 },
      spec: { ...ready.spec, title: 'Renamed' },
    };
    const { d } = step(renamed, { jobs: done });
    expect(types(d)).to.deep.equal([]);
    expect(needsRenditionMetadata(renamed, done)).to.equal(false);
    expect(cond(d.status, 'Ready')).to.include({ status: 'True', observedGeneration: 2 });
  });

  it('a rung added while Processing joins the same pass of Jobs, one master at the end', () => {
    let v = video({}, { renditions: ['480p'] });
    v = step(v).next;
    const grown: Video = {
      ...v,
      metadata: { ...v.metadata, generation: 2 },
      spec: { ...v.spec, renditions: ['480p', '720p'] },
    };
    const { d, next } = step(grown, {
      jobs: jobs(job('demo-thumbnail', undefined), job('demo-480p', undefined)),
    });
    expect(types(d)).to.deep.equal(['CreateJob:720p']);
    const all = jobs(
      job('demo-thumbnail', 'Complete'),
      job('demo-480p', 'Complete'),
      job('demo-720p', 'Complete'),
    );
    const probed = step(next, { jobs: all, probe: { ok: source1080 } }).next;
    const last = step(probed, { jobs: all, metadata: { ok: [meta('480p'), meta('720p')] } });
    expect(types(last.d)).to.deep.equal(['WriteMaster']);
    expect(last.d.status?.phase).to.equal('Ready');
  });
});

describe('operator/video: Jobs of the previous release (upgrade from v1alpha1)', () => {
  it('a Job whose controller reference names media.videoflix.io/v1alpha1 still controls the Job: it is not created again', () => {
    const ref = (apiVersion: string): V1Job => ({
      metadata: {
        name: 'demo-480p',
        namespace: 'media',
        ownerReferences: [{ apiVersion, kind: 'Video', name: 'demo', uid: UID, controller: true }],
      },
    });
    for (const v of [...DEPRECATED_VERSIONS, VERSION])
      expect(controllerOf(ref(`${GROUP}/${v}`)), v).to.deep.equal({ key: 'media/demo', uid: UID });
    expect(controllerOf(ref('other.example.com/v1'))).to.equal(undefined);
  });
});
