/**
 * Issue 25 (progress) in the API on the host tier: the operator's status messages (published through
 * the real RabbitMQ, as the operator would) carry each running rendition's progress; the admin list
 * shows it with the seconds left, and the staff thumbnail route serves the thumbnail as soon as it
 * exists (while Processing), refusing users and unknown ids with a 4xx.
 */
import { expect } from 'chai';
import { keys } from '../../../../common/video/index.js';
import { waitFor } from '../../../support/waiters.js';
import { createVideoResource, laterVersion, startHarness, statusMessage, type Harness } from './helpers.js';

interface AdminItem {
  id: number;
  phase: string;
  thumbnail_url: string | null;
  renditions: Array<{
    name: string;
    phase: string;
    progress?: {
      percent: number;
      speed: number | null;
      eta_seconds: number | null;
      estimated_completion: string | null;
    };
  }>;
}

describe('api catalog: progress in the admin view, the thumbnail while processing', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async function () {
    h = await startHarness('progress');
    h.catalog.consumer.start();
    await waitFor(() => h.catalog.consumer.connected, { what: 'the status consumer connected' });
  });
  after(async function () {
    await h?.close();
  });

  it('shows the progress and ETA of each running rendition from the status messages; the users see nothing new', async function () {
    const video = await createVideoResource(h, { title: 'Progress' });
    const uid = video.metadata.uid!;
    const eta = new Date(Date.now() + 90_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await h.publish(
      statusMessage(video, {
        phase: 'Processing',
        resourceVersion: laterVersion(video.metadata.resourceVersion!, 3),
        thumbnailKey: keys.thumbnail(uid),
        renditions: [
          { name: '480p', phase: 'Succeeded', playlistKey: keys.playlist(uid, '480p') },
          {
            name: '720p',
            phase: 'Running',
            progress: {
              percent: 62.5,
              speed: 1.4,
              estimatedCompletionTime: eta,
              updatedAt: new Date().toISOString(),
            },
          },
          { name: '1080p', phase: 'Running' },
        ],
      }),
    );
    const item = await waitFor(
      async () => {
        const res = await h.t.agent().get('/api/admin/videos/').set('Cookie', h.adminCookie);
        const items = res.body as AdminItem[];
        const mine = items.find((v) => v.renditions.some((r) => r.progress));
        return mine?.phase === 'Processing' ? mine : undefined;
      },
      { what: 'the admin list with the progress' },
    );
    const r720 = item.renditions.find((r) => r.name === '720p')!;
    expect(r720.progress!.percent).to.equal(62.5);
    expect(r720.progress!.speed).to.equal(1.4);
    expect(r720.progress!.estimated_completion).to.equal(eta);
    expect(r720.progress!.eta_seconds).to.be.within(80, 91);
    expect(item.renditions.find((r) => r.name === '1080p')).not.to.have.property('progress');
    expect(item.renditions.find((r) => r.name === '480p')).not.to.have.property('progress');

    // the users' list is the original contract: not listed while processing, no new fields anywhere
    const list = await h.t.agent().get('/api/video/').set('Cookie', h.userCookie);
    expect(list.status).to.equal(200);
    expect((list.body as Array<{ id: number }>).map((v) => v.id)).not.to.include(item.id);

    // the thumbnail while Processing: staff only, through the admin route; the users' route waits for Ready
    await h.s3.putObject(h.media, keys.thumbnail(uid), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]), 7, {
      'Content-Type': 'image/jpeg',
    });
    const thumb = await h.t
      .agent()
      .get(`/api/admin/videos/${item.id}/thumbnail.jpg`)
      .set('Cookie', h.adminCookie)
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    expect(thumb.status).to.equal(200);
    expect(thumb.headers['content-type']).to.match(/^image\/jpeg/);
    expect([...(thumb.body as Buffer).subarray(0, 3)]).to.deep.equal([0xff, 0xd8, 0xff]);
    const asUser = await h.t
      .agent()
      .get(`/api/admin/videos/${item.id}/thumbnail.jpg`)
      .set('Cookie', h.userCookie);
    expect(asUser.status).to.equal(403);
    const anonymous = await h.t.agent().get(`/api/admin/videos/${item.id}/thumbnail.jpg`);
    expect(anonymous.status).to.equal(401);
    const publicRoute = await h.t
      .agent()
      .get(`/api/video/${item.id}/thumbnail.jpg`)
      .set('Cookie', h.userCookie);
    expect(publicRoute.status).to.equal(404);
    for (const bad of ['999999', 'abc', '-1', '1e3'])
      expect(
        (await h.t.agent().get(`/api/admin/videos/${bad}/thumbnail.jpg`).set('Cookie', h.adminCookie)).status,
        bad,
      ).to.equal(404);
  });
});
