/**
 * Re-transcoding on purpose, end to end on the kind cluster with real transcoder Jobs (issue 25): a Video
 * made with 480p only is Ready; 720p is added to spec.renditions; exactly one new Job runs (the 480p and
 * thumbnail Jobs keep their uids, none re-runs), the Video stays Ready meanwhile (the old master serves
 * 480p), and once the 720p Job is done master.m3u8 lists both variants and every variant it lists exists.
 * Removing a rung is refused by the CRD.
 *
 * Run: `npx mocha --config test/.mocharc.e2e.json --grep 'ladder that grows' test/e2e/ladder-change.test.ts`
 * (the same cluster and platform as test/e2e/operator.test.ts; see there).
 */
import { expect } from 'chai';
import path from 'node:path';
import {
  API_VERSION,
  findCondition,
  isVideoFailed,
  isVideoReady,
  keys,
  KIND,
  LABELS,
  type Video,
} from '../../common/video/index.js';
import { createMediaDir, type MediaDir } from '../support/media.js';
import { ensurePlatform, kubectlAsync, kubectlJson, NS, openS3, type S3Access } from '../support/platform.js';
import { GiveUp, waitFor } from '../support/waiters.js';

const READY_TIMEOUT_MS = Number(process.env.E2E_READY_TIMEOUT_MS ?? 12 * 60_000);
const VIDEOS = `videos.${API_VERSION.split('/')[0]}`;

interface Job {
  metadata: { name: string; uid: string };
  status: { conditions?: Array<{ type: string; status: string }> };
}

describe('operator end to end: a ladder that grows (real Jobs)', function () {
  this.timeout(2 * READY_TIMEOUT_MS + 10 * 60_000);
  const name = `e2e-ladder-${Date.now().toString(36)}`;
  let key = '';
  let s3: S3Access;
  let media: MediaDir;

  const getVideo = () => kubectlJson<Video>(['get', VIDEOS, name, '-n', NS]);
  const jobsOf = async () =>
    (await kubectlJson<{ items: Job[] }>(['get', 'jobs', '-n', NS, '-l', `${LABELS.video}=${name}`])).items;
  const waitFresh = (what: string, ok: (v: Video) => boolean) =>
    waitFor(
      async () => {
        const v = await getVideo();
        if (isVideoFailed(v)) throw new GiveUp(`Video ${name} Failed: ${v.status?.message ?? ''}`);
        return ok(v) ? v : undefined;
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 2000, what },
    );

  before(async function () {
    this.timeout(90 * 60_000);
    await ensurePlatform();
    s3 = await openS3();
    media = await createMediaDir('videoflix-e2e-ladder-');
    const file = await media.clip({ durationSec: 6, width: 1280, height: 720, fps: 25, audio: true });
    key = `e2e-ladder/${name}${path.extname(file)}`;
    await s3.client.fPutObject(s3.sourceBucket, key, file, { 'Content-Type': 'video/mp4' });
  });

  after(async function () {
    this.timeout(5 * 60_000);
    await kubectlAsync(
      ['delete', VIDEOS, name, '-n', NS, '--ignore-not-found', '--wait=true', '--timeout=180s'],
      {
        timeoutMs: 200_000,
      },
    ).catch(() => undefined);
    await s3?.client.removeObject(s3.sourceBucket, key).catch(() => undefined);
    await s3?.stop();
    await media?.cleanup();
  });

  it('adds 720p to a Ready 480p Video: one new Job, Ready throughout, a master with both variants', async () => {
    const video = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name, namespace: NS, labels: { 'e2e.videoflix.io/suite': 'ladder' } },
      spec: { title: 'Ladder change', source: { bucket: s3.sourceBucket, key }, renditions: ['480p'] },
    };
    await kubectlAsync(['create', '-f', '-'], { input: JSON.stringify(video) });
    const ready = await waitFresh(`Video ${name} Ready`, isVideoReady);
    const uid = ready.metadata.uid!;
    const master1 = (await s3.get(s3.mediaBucket, keys.master(uid))).toString('utf8');
    expect(master1).to.contain('RESOLUTION=854x480').and.not.contain('RESOLUTION=1280x720');
    const before = new Map((await jobsOf()).map((j) => [j.metadata.name, j.metadata.uid]));
    expect([...before.keys()].sort()).to.deep.equal([`${name}-480p`, `${name}-thumbnail`]);

    const setLadder = (renditions: string[]) =>
      kubectlAsync([
        'patch',
        VIDEOS,
        name,
        '-n',
        NS,
        '--type=merge',
        '-p',
        JSON.stringify({ spec: { renditions } }),
      ]);
    const shrink = await setLadder(['720p']).then(
      () => '',
      (e: unknown) => String(e),
    );
    expect(shrink).to.contain('spec.renditions may only grow');
    await setLadder(['480p', '720p']);
    // while 720p encodes: still Ready (playable), Transcoded not True
    const growing = await waitFresh('generation 2 observed', (v) => v.status?.observedGeneration === 2);
    expect(growing.status?.phase).to.equal('Ready');
    const done = await waitFresh('Transcoded=True for generation 2', (v) => {
      const t = findCondition(v.status?.conditions, 'Transcoded');
      return t?.status === 'True' && t.observedGeneration === 2;
    });
    expect(done.status?.renditionsSummary).to.equal('2/2');
    expect(isVideoReady(done)).to.equal(true);

    const after = await jobsOf();
    expect(after.map((j) => j.metadata.name).sort()).to.deep.equal([
      `${name}-480p`,
      `${name}-720p`,
      `${name}-thumbnail`,
    ]);
    for (const j of after)
      if (before.has(j.metadata.name))
        expect(j.metadata.uid, j.metadata.name).to.equal(before.get(j.metadata.name));

    const master2 = (await s3.get(s3.mediaBucket, keys.master(uid))).toString('utf8');
    expect(master2).to.contain('RESOLUTION=854x480').and.contain('RESOLUTION=1280x720');
    for (const res of ['480p', '720p']) {
      expect(master2).to.contain(`${res}/index.m3u8`);
      const playlist = (await s3.get(s3.mediaBucket, `${uid}/${res}/index.m3u8`)).toString('utf8');
      expect(playlist, res).to.contain('#EXT-X-ENDLIST');
    }
  });
});
