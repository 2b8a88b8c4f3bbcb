/**
 * The user-facing routes of the original contract on the host tier: GET /api/video/ and the HLS
 * routes, with real HLS made by ffmpeg in versitygw and the catalog fed by status messages through
 * RabbitMQ. A player's walk (master → variants → segments, URIs resolved as a player resolves them)
 * is replayed with cookies and what it fetched is decoded by ffprobe.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Video } from '../../../../common/video/index.js';
import { waitFor } from '../../../support/waiters.js';
import {
  createVideoResource,
  generateHls,
  laterVersion,
  putMedia,
  startHarness,
  statusMessage,
  type GeneratedHls,
  type Harness,
} from './helpers.js';

const execFileP = promisify(execFile);
const uris = (text: string) => text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));

describe('api catalog: listing and HLS streaming for signed-in users', function () {
  this.timeout(120_000);
  let h: Harness;
  let hls: GeneratedHls;
  let ready: Video;
  let readyId: number;
  let processingId: number;

  before(async function () {
    h = await startHarness('stream');
    h.catalog.consumer.start();
    hls = await generateHls([
      { name: '480p', height: 480 },
      { name: '720p', height: 720 },
    ]);
    // an older Ready video, a newer Ready one, one still processing
    const older = await createVideoResource(h, { title: 'Older' });
    ready = await createVideoResource(h, { title: 'Newest' });
    const processing = await createVideoResource(h, { title: 'Still processing' });
    for (const v of [older, ready]) await putMedia(h, v.metadata.uid!, hls);
    await h.publish(
      statusMessage(older, {
        phase: 'Ready',
        resourceVersion: laterVersion(older.metadata.resourceVersion!),
      }),
    );
    await waitFor(() => h.Video.findOne({ where: { uid: older.metadata.uid!, phase: 'Ready' } }), {
      what: 'older Ready',
    });
    await h.publish(
      statusMessage(ready, {
        phase: 'Ready',
        resourceVersion: laterVersion(ready.metadata.resourceVersion!),
      }),
    );
    await h.publish(
      statusMessage(processing, {
        phase: 'Processing',
        resourceVersion: laterVersion(processing.metadata.resourceVersion!),
      }),
    );
    readyId = (
      await waitFor(() => h.Video.findOne({ where: { uid: ready.metadata.uid!, phase: 'Ready' } }), {
        what: 'newest Ready',
      })
    ).id;
    processingId = (
      await waitFor(() => h.Video.findOne({ where: { uid: processing.metadata.uid! } }), {
        what: 'processing row',
      })
    ).id;
    // media exist for the processing one too: only the phase keeps it hidden
    await putMedia(h, processing.metadata.uid!, hls);
  });
  after(async function () {
    await hls?.cleanup();
    await h?.close();
  });

  const get = (p: string, cookie: string | undefined = undefined) => {
    const req = h.t
      .agent()
      .get(p)
      .buffer(true)
      .parse((res, cb) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    return cookie ? req.set('Cookie', cookie) : req;
  };

  it('lists only Ready videos, newest first, with exactly the original fields and a working thumbnail_url', async function () {
    const res = await h.t.agent().get('/api/video/').set('Cookie', h.userCookie);
    expect(res.status).to.equal(200);
    expect(res.body.map((v: { title: string }) => v.title)).to.deep.equal(['Newest', 'Older']);
    for (const item of res.body as Array<Record<string, unknown>>) {
      expect(Object.keys(item)).to.deep.equal([
        'id',
        'created_at',
        'title',
        'description',
        'thumbnail_url',
        'category',
      ]);
      expect(item.created_at).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    const newest = res.body[0] as {
      id: number;
      thumbnail_url: string;
      description: string;
      category: string;
    };
    expect(newest).to.deep.include({ id: readyId, description: 'from yaml', category: 'Docs' });
    expect(newest.thumbnail_url).to.match(
      new RegExp(`^http://api\\.test:8000/api/video/${readyId}/thumbnail\\.jpg\\?exp=\\d+&sig=[\\w-]{43}$`),
    );
    const thumbUrl = new URL(newest.thumbnail_url);
    // with the cookie, and with the URL's own signature alone (an <img> on another site sends no SameSite cookie)
    for (const [p, cookie] of [
      [thumbUrl.pathname, h.userCookie],
      [`${thumbUrl.pathname}${thumbUrl.search}`, undefined],
    ] as const) {
      const thumb = await get(p, cookie);
      expect(thumb.status, p).to.equal(200);
      expect(thumb.headers['content-type']).to.equal('image/jpeg');
      expect((thumb.body as Buffer).subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))).to.equal(true);
    }
    expect(
      (await get(`${thumbUrl.pathname}${thumbUrl.search}`)).headers['cross-origin-resource-policy'],
    ).to.equal('cross-origin');
    expect((await get(thumbUrl.pathname)).status).to.equal(401);
    const tampered = `${thumbUrl.pathname}${thumbUrl.search.replace(/sig=./, (m) => (m.endsWith('A') ? 'sig=B' : 'sig=A'))}`;
    expect((await get(tampered)).status).to.equal(401);
    // another video's signature does not open this one
    expect((await get(`/api/video/${processingId}/thumbnail.jpg${thumbUrl.search}`)).status).to.equal(401);
    // the same with the slash-less path the original also answered
    expect((await h.t.agent().get('/api/video').set('Cookie', h.userCookie)).body).to.have.length(2);
  });

  it('answers 401 without a cookie, on the list and on every HLS route', async function () {
    for (const p of [
      '/api/video/',
      `/api/video/${readyId}/master.m3u8`,
      `/api/video/${readyId}/480p/index.m3u8`,
      `/api/video/${readyId}/480p/segment_000.ts/`,
    ]) {
      const res = await get(p);
      expect(res.status, p).to.equal(401);
      expect(res.headers['content-type'], p).to.match(/application\/json/);
    }
  });

  it('serves the playlists and segments with the original content types, Content-Length and cache headers', async function () {
    const master = await get(`/api/video/${readyId}/master.m3u8`, h.userCookie);
    expect(master.status).to.equal(200);
    expect(master.headers['content-type']).to.equal('application/vnd.apple.mpegurl');
    expect(Number(master.headers['content-length'])).to.equal((master.body as Buffer).length);
    expect(master.headers['cache-control']).to.match(/^private/);
    expect(uris(master.body.toString())).to.deep.equal(['480p/index.m3u8', '720p/index.m3u8']);

    const index = await get(`/api/video/${readyId}/720p/index.m3u8`, h.userCookie);
    expect(index.status).to.equal(200);
    expect(index.headers['content-type']).to.equal('application/vnd.apple.mpegurl');
    expect(index.body.toString()).to.equal(
      await fsp.readFile(path.join(hls.dir, '720p', 'index.m3u8'), 'utf8'),
    );

    for (const p of [
      `/api/video/${readyId}/720p/segment_000.ts/`,
      `/api/video/${readyId}/720p/segment_000.ts`,
    ]) {
      const seg = await get(p, h.userCookie);
      expect(seg.status, p).to.equal(200);
      expect(seg.headers['content-type'], p).to.equal('video/MP2T');
      const file = await fsp.readFile(path.join(hls.dir, '720p', 'segment_000.ts'));
      expect(Number(seg.headers['content-length'])).to.equal(file.length);
      expect((seg.body as Buffer).equals(file), p).to.equal(true);
      expect(seg.headers['cache-control']).to.contain('private');
      expect(seg.headers.etag).to.be.a('string');
    }
    const etag = String((await get(`/api/video/${readyId}/720p/segment_000.ts`, h.userCookie)).headers.etag);
    const again = await get(`/api/video/${readyId}/720p/segment_000.ts`, h.userCookie).set(
      'If-None-Match',
      etag,
    );
    expect(again.status).to.equal(304);
  });

  it('answers If-Modified-Since with 304 when the object is not newer, in full when it is (segments and playlists)', async function () {
    for (const p of [`/api/video/${readyId}/720p/segment_000.ts`, `/api/video/${readyId}/720p/index.m3u8`]) {
      const first = await get(p, h.userCookie);
      expect(first.status, p).to.equal(200);
      const lastModified = String(first.headers['last-modified']);
      expect(Number.isNaN(Date.parse(lastModified)), `${p}: Last-Modified ${lastModified}`).to.equal(false);
      const same = await get(p, h.userCookie).set('If-Modified-Since', lastModified);
      expect(same.status, `${p} since its Last-Modified`).to.equal(304);
      expect((same.body as Buffer).length, p).to.equal(0);
      const later = await get(p, h.userCookie).set(
        'If-Modified-Since',
        new Date(Date.now() + 86_400_000).toUTCString(),
      );
      expect(later.status, `${p} since tomorrow`).to.equal(304);
      const earlier = new Date(Date.parse(lastModified) - 3_600_000).toUTCString();
      const changed = await get(p, h.userCookie).set('If-Modified-Since', earlier);
      expect(changed.status, `${p} since an hour before`).to.equal(200);
      // If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3): another ETag answers in full
      const other = await get(p, h.userCookie)
        .set('If-Modified-Since', lastModified)
        .set('If-None-Match', '"other"');
      expect(other.status, `${p} with another ETag`).to.equal(200);
    }
  });

  it('answers single byte ranges of a segment (206, Content-Range), 416 past the end, and the whole for other forms', async function () {
    const p = `/api/video/${readyId}/480p/segment_001.ts`;
    const file = await fsp.readFile(path.join(hls.dir, '480p', 'segment_001.ts'));
    const first = await get(p, h.userCookie).set('Range', 'bytes=0-99');
    expect(first.status).to.equal(206);
    expect(first.headers['content-range']).to.equal(`bytes 0-99/${file.length}`);
    expect(first.headers['content-length']).to.equal('100');
    expect((first.body as Buffer).equals(file.subarray(0, 100))).to.equal(true);
    const rest = await get(p, h.userCookie).set('Range', 'bytes=100-');
    expect(rest.status).to.equal(206);
    expect((rest.body as Buffer).equals(file.subarray(100))).to.equal(true);
    const past = await get(p, h.userCookie).set('Range', `bytes=${file.length + 10}-`);
    expect(past.status).to.equal(416);
    expect(past.headers['content-range']).to.equal(`bytes */${file.length}`);
    for (const r of ['bytes=-10', 'bytes=0-1,5-9', 'lines=1-2', 'bytes=9-1']) {
      const whole = await get(p, h.userCookie).set('Range', r);
      expect(whole.status, r).to.equal(200);
      expect((whole.body as Buffer).length, r).to.equal(file.length);
    }
    expect(first.headers['accept-ranges']).to.equal('bytes');
  });

  it('plays through the routes as a player resolves the relative URIs, and ffprobe decodes what it fetched', async function () {
    const base = 'http://api.test:8000';
    const masterUrl = new URL(`/api/video/${readyId}/master.m3u8`, base);
    const master = (await get(masterUrl.pathname, h.userCookie)).body.toString();
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'catalog-play-'));
    try {
      for (const variant of uris(master)) {
        const variantUrl = new URL(variant, masterUrl);
        const playlist = await get(variantUrl.pathname, h.userCookie);
        expect(playlist.status, variantUrl.pathname).to.equal(200);
        const segments = uris(playlist.body.toString());
        expect(segments.length).to.be.greaterThan(0);
        const out = path.join(dir, `${variant.split('/')[0]}.ts`);
        for (const s of segments) {
          const segUrl = new URL(s, variantUrl);
          expect(segUrl.pathname).to.match(
            new RegExp(`^/api/video/${readyId}/(480p|720p)/segment_\\d{3}\\.ts$`),
          );
          const seg = await get(segUrl.pathname, h.userCookie);
          expect(seg.status, segUrl.pathname).to.equal(200);
          await fsp.appendFile(out, seg.body as Buffer);
        }
        const { stdout } = await execFileP('ffprobe', [
          '-v',
          'error',
          '-print_format',
          'json',
          '-show_streams',
          '-show_format',
          out,
        ]);
        const probe = JSON.parse(stdout) as {
          streams: Array<{ codec_type: string; codec_name: string; height?: number }>;
          format: { duration: string };
        };
        const v = probe.streams.find((x) => x.codec_type === 'video');
        expect(v?.codec_name).to.equal('h264');
        expect(v?.height).to.equal(Number(variant.split('p/')[0]));
        expect(probe.streams.some((x) => x.codec_type === 'audio')).to.equal(true);
        expect(Number(probe.format.duration)).to.be.closeTo(4, 0.5);
      }
    } finally {
      await fsp.rm(dir, { recursive: true, force: true });
    }
  });

  it('answers 404 for a video that is not Ready, unknown, or deleted', async function () {
    for (const p of [
      `/api/video/${processingId}/master.m3u8`,
      `/api/video/${processingId}/480p/index.m3u8`,
      `/api/video/${processingId}/480p/segment_000.ts/`,
      `/api/video/${processingId}/thumbnail.jpg`,
      '/api/video/999999/master.m3u8',
      '/api/video/0/master.m3u8',
      '/api/video/99999999999999999999/master.m3u8',
    ]) {
      const res = await get(p, h.userCookie);
      expect(res.status, p).to.equal(404);
      expect(JSON.parse(res.body.toString()), p).to.deep.equal({ detail: 'Not found.' });
    }
  });

  it('answers 404 for unknown or unproduced resolutions and for segment names outside the pattern', async function () {
    for (const p of [
      `/api/video/${readyId}/240p/index.m3u8`,
      `/api/video/${readyId}/1080p/index.m3u8`, // skipped: taller than the source
      `/api/video/${readyId}/1080p/segment_000.ts/`,
      `/api/video/${readyId}/480P/index.m3u8`,
      `/api/video/${readyId}/480p/segment_999.ts/`, // right shape, no such object
      `/api/video/${readyId}/480p/segment_00.ts/`,
      `/api/video/${readyId}/480p/segment_000.ts.bak`,
      `/api/video/${readyId}/480p/SEGMENT_000.TS`,
      `/api/video/${readyId}/480p/segment_000.m4s`,
      `/api/video/${readyId}/480p/rendition.json`,
      `/api/video/${readyId}/480p/index.m3u8/`, // a playlist below a slash would break relative URIs
      `/api/video/${readyId}/master.m3u8/`,
      `/api/video/${readyId}/480p/`,
      `/api/video/${readyId}/probe.json`,
      `/api/video/${readyId}/`,
      `/api/video/0${readyId}/master.m3u8`,
      `/api/video/${readyId}.0/master.m3u8`,
    ]) {
      const res = await get(p, h.userCookie);
      expect(res.status, p).to.equal(404);
    }
  });

  it('answers 404 for traversal attempts, encoded or not', async function () {
    for (const p of [
      `/api/video/${readyId}/480p/..%2F..%2F${processingId}%2Fmaster.m3u8`,
      `/api/video/${readyId}/480p/..%2fmaster.m3u8`,
      `/api/video/${readyId}/480p/%2e%2e%2f%2e%2e%2fthumbnail.jpg`,
      `/api/video/${readyId}/..%2F480p/index.m3u8`,
      `/api/video/${readyId}/480p%2F..%2F720p/index.m3u8`,
      `/api/video/${readyId}%2F..%2F${processingId}/master.m3u8`,
      `/api/video/${readyId}/480p/segment_000.ts%2F..%2F..%2Fmaster.m3u8`,
      `/api/video/${readyId}/480p/segment_000.ts%00`,
      `/api/video/${readyId}/480p/segment_000.ts/../../master.m3u8`,
      `/api/video/${readyId}/480p/%252e%252e%252fmaster.m3u8`,
      `/api/video/${readyId}/480p/..%5C..%5Cmaster.m3u8`,
      `/api/video/..%2F${readyId}/master.m3u8`,
    ]) {
      const res = await get(p, h.userCookie);
      expect(res.status, p).to.equal(404);
    }
  });

  it('keeps the list and the media routes in step with writes another replica makes (straight to the table)', async function () {
    const list = () => h.t.agent().get('/api/video/').set('Cookie', h.userCookie);
    const first = await list().expect(200);
    const etag = String(first.headers.etag);
    expect(etag).to.match(/^W\/"[0-9a-f]+-[\w+/]{27}"$/);
    expect((await list().expect(200)).text).to.equal(first.text);
    await list().set('If-None-Match', etag).expect(304);
    const master = `/api/video/${readyId}/master.m3u8`;
    expect((await get(master, h.userCookie)).status).to.equal(200); // the row is in the Ready cache now
    try {
      // what another API replica's status consumer would write: this process made no write itself
      await h.Video.update({ title: 'Renamed elsewhere' }, { where: { id: readyId } });
      const renamed = await list().expect(200);
      expect(renamed.body[0]).to.deep.include({ id: readyId, title: 'Renamed elsewhere' });
      expect(renamed.headers.etag).to.not.equal(etag);
      await h.Video.update({ phase: 'Processing' }, { where: { id: readyId } });
      expect((await list().expect(200)).body.map((v: { id: number }) => v.id)).to.not.include(readyId);
      // the media routes may answer from their Ready row cache for up to 5 s (api/README.md), then 404
      await waitFor(async () => (await get(master, h.userCookie)).status === 404, {
        what: 'master playlist 404 after another replica took the video out of Ready',
        timeoutMs: 15_000,
      });
    } finally {
      await h.Video.update({ title: 'Newest', phase: 'Ready' }, { where: { id: readyId } });
    }
    const titles = (body: Array<{ id: number; title: string }>) => body.map((v) => `${v.id} ${v.title}`);
    expect(titles((await list().expect(200)).body)).to.deep.equal(titles(first.body));
  });

  it('documents the catalog routes in /api/openapi.json', async function () {
    const doc = await h.t.agent().get('/api/openapi.json');
    expect(doc.status).to.equal(200);
    expect(Object.keys(doc.body.paths)).to.include.members([
      '/api/video/',
      '/api/video/{id}/master.m3u8',
      '/api/video/{id}/{resolution}/index.m3u8',
      '/api/video/{id}/{resolution}/{segment}/',
      '/api/admin/videos/',
      '/api/admin/videos/{id}/',
    ]);
  });
});
