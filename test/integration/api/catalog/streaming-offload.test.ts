/**
 * Streaming offload (issue 23) on the host tier: the API in STREAMING_MODE=offload hands out
 * presigned segment URLs, and the real S3 server (versitygw) is what checks them. Requests to
 * versitygw carry the Host the URL was signed for, as the ingress passes the browser's Host through
 * (/work/shared/notes/streaming-offload.md). Proxy mode is covered by streaming.test.ts.
 */
import { expect } from 'chai';
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { getWithHost } from '@videoflix/testkit/http';
import { SegmentUrls } from '../../../../api/catalog/streaming.js';
import { S3Presigner } from '../../../../common/storage/presign.js';
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

const PUBLIC_HOST = 'videos.example.test:8080';
const uris = (text: string) => text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));

/** GET `pathAndQuery` from versitygw with the given Host header. */
async function s3Get(
  pathAndQuery: string,
  host: string,
): Promise<{ status: number; body: Buffer; type?: string }> {
  const r = await getWithHost(`${new URL(process.env.S3_ENDPOINT!).origin}${pathAndQuery}`, host);
  return { status: r.status, body: r.body, type: r.headers['content-type'] };
}

describe('api catalog: streaming offload against the real S3 server (presigned segment URLs)', function () {
  this.timeout(120_000);
  let h: Harness;
  let hls: GeneratedHls;
  let a: Video;
  let b: Video;
  let aId: number;
  let bId: number;

  before(async function () {
    h = await startHarness('offload', {
      STREAMING_MODE: 'offload',
      STREAMING_HOSTS: `${PUBLIC_HOST},other.example.test`,
    });
    h.catalog.consumer.start();
    hls = await generateHls([{ name: '480p', height: 480 }]);
    a = await createVideoResource(h, { title: 'A' });
    b = await createVideoResource(h, { title: 'B' });
    for (const v of [a, b]) {
      await putMedia(h, v.metadata.uid!, hls);
      await h.publish(
        statusMessage(v, { phase: 'Ready', resourceVersion: laterVersion(v.metadata.resourceVersion!) }),
      );
    }
    const readyId = async (v: Video) =>
      (
        await waitFor(() => h.Video.findOne({ where: { uid: v.metadata.uid!, phase: 'Ready' } }), {
          what: `${v.spec.title} Ready`,
        })
      ).id;
    aId = await readyId(a);
    bId = await readyId(b);
  });
  after(async function () {
    await hls?.cleanup();
    await h?.close();
  });

  const api = (p: string, host = PUBLIC_HOST) =>
    h.t.agent().get(p).set('Cookie', h.userCookie).set('Host', host).redirects(0);
  const variant = async (id: number, host = PUBLIC_HOST) => {
    const res = await api(`/api/video/${id}/480p/index.m3u8`, host);
    expect(res.status, res.text).to.equal(200);
    return uris(res.text);
  };

  it('lists presigned same-origin URLs in the variant playlist; each fetches its segment from S3 (200, the bytes)', async function () {
    const master = await api(`/api/video/${aId}/master.m3u8`);
    expect(master.status).to.equal(200);
    expect(uris(master.text), 'variants stay on the API').to.deep.equal(['480p/index.m3u8']);

    const urls = await variant(aId);
    const names = (await fsp.readdir(path.join(hls.dir, '480p'))).filter((f) => f.endsWith('.ts')).sort();
    expect(urls).to.have.length(names.length);
    for (const [i, u] of urls.entries()) {
      const url = new URL(u, `http://${PUBLIC_HOST}/api/video/${aId}/480p/index.m3u8`);
      expect(url.host, 'same origin').to.equal(PUBLIC_HOST);
      expect(url.pathname).to.equal(`/${h.media}/${a.metadata.uid}/480p/${names[i]}`);
      expect(url.searchParams.get('X-Amz-Expires')).to.equal('14400');
      const got = await s3Get(u, PUBLIC_HOST);
      expect(got.status, `${u}: ${got.body.toString().slice(0, 200)}`).to.equal(200);
      expect(got.type).to.equal('video/MP2T');
      expect(got.body.equals(await fsp.readFile(path.join(hls.dir, '480p', names[i]!)))).to.equal(true);
    }
  });

  it("is refused by S3 (403) for another video's key, another Host, a tampered signature or an expired URL", async function () {
    const [u] = await variant(aId);
    const url = new URL(u!, `http://${PUBLIC_HOST}`);
    const query = url.search;
    // the same signature on video B's object
    const other = `/${h.media}/${b.metadata.uid}/480p/${path.posix.basename(url.pathname)}${query}`;
    expect((await s3Get(other, PUBLIC_HOST)).status, "another video's key").to.equal(403);
    // the next segment of the same video
    const next = `${url.pathname.replace(/segment_(\d+)/, (_m, n: string) => `segment_${String(Number(n) + 1).padStart(n.length, '0')}`)}${query}`;
    expect((await s3Get(next, PUBLIC_HOST)).status, 'another segment').to.equal(403);
    // sent with another Host than it was signed for (the S3 server's own address)
    expect((await s3Get(u!, new URL(process.env.S3_ENDPOINT!).host)).status, 'another Host').to.equal(403);
    // one character of the signature changed
    const tampered = u!.replace(
      /X-Amz-Signature=(.)/,
      (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`,
    );
    expect(tampered).to.not.equal(u);
    expect((await s3Get(tampered, PUBLIC_HOST)).status, 'tampered').to.equal(403);
    // a longer lifetime written into a valid URL
    expect(
      (await s3Get(u!.replace('X-Amz-Expires=14400', 'X-Amz-Expires=604800'), PUBLIC_HOST)).status,
    ).to.equal(403);
    // signed with the API's own key but expired: signed two hours ago for one hour
    const key = `${a.metadata.uid}/480p/${path.posix.basename(url.pathname)}`;
    const apiSigner = (now?: () => number) =>
      new SegmentUrls({
        presigner: new S3Presigner({
          accessKey: h.config.S3_ACCESS_KEY!,
          secretKey: h.config.S3_SECRET_KEY!,
          region: h.config.S3_REGION,
        }),
        bucket: h.media,
        ttlSeconds: 3600,
        hosts: new Set([PUBLIC_HOST]),
        ...(now ? { now } : {}),
      });
    const expired = apiSigner(() => Date.now() - 2 * 3600_000).url(PUBLIC_HOST, key);
    expect((await s3Get(expired, PUBLIC_HOST)).status, 'expired').to.equal(403);
    // the same signer now: accepted (so the 403 above is the expiry)
    const fresh = apiSigner().url(PUBLIC_HOST, key);
    expect((await s3Get(fresh, PUBLIC_HOST)).status, 'fresh').to.equal(200);
    // no signature at all: the media bucket is not public, nor its listing
    expect((await s3Get(url.pathname, PUBLIC_HOST)).status, 'unsigned').to.equal(403);
    expect((await s3Get(`/${h.media}/`, PUBLIC_HOST)).status, 'listing').to.equal(403);
    // a GET signature does not allow a write
    const s3 = new URL(process.env.S3_ENDPOINT!);
    const put = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { hostname: s3.hostname, port: s3.port, path: u!, method: 'PUT', headers: { host: PUBLIC_HOST } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.end('x');
    });
    expect(put, 'PUT with a GET signature').to.equal(403);
  });

  it("answers the original segment route with 302 to the playlist's URL (with and without the slash); it still needs the cookie", async function () {
    const urls = await variant(aId);
    for (const p of [`/api/video/${aId}/480p/segment_000.ts`, `/api/video/${aId}/480p/segment_000.ts/`]) {
      const res = await api(p);
      expect(res.status, p).to.equal(302);
      // the playlist's URL (signed in the same window)
      expect(res.headers.location, p).to.equal(urls[0]);
      expect((await s3Get(res.headers.location!, PUBLIC_HOST)).status).to.equal(200);
    }
    const anonymous = await h.t.agent().get(`/api/video/${aId}/480p/segment_000.ts`).set('Host', PUBLIC_HOST);
    expect(anonymous.status).to.equal(401);
    // what does not exist is still 404, not a signed URL
    for (const p of [
      `/api/video/${aId}/480p/segment_999.ts`.replace('999', 'x'),
      `/api/video/${aId}/1080p/segment_000.ts`,
    ])
      expect((await api(p)).status, p).to.equal(404);
  });

  it('signs for each allowed Host separately, and answers 421 with a message for any other Host (no URL for it)', async function () {
    const [forOther] = await variant(aId, 'other.example.test');
    expect((await s3Get(forOther!, 'other.example.test')).status).to.equal(200);
    expect((await s3Get(forOther!, PUBLIC_HOST)).status).to.equal(403);
    for (const p of [`/api/video/${aId}/480p/index.m3u8`, `/api/video/${aId}/480p/segment_000.ts`]) {
      for (const host of [
        'evil.example.test',
        'videos.example.test:8081',
        new URL(process.env.S3_ENDPOINT!).host,
      ]) {
        const res = await api(p, host);
        expect(res.status, `${p} Host ${host}`).to.equal(421);
        expect(res.headers['content-type']).to.match(/application\/json/);
        expect(res.body.detail).to.match(/not signed for this host/);
        expect(res.text).to.not.contain('X-Amz');
        expect(res.headers.location).to.equal(undefined);
      }
    }
  });

  it('serves a playlist signed once per window: the same body and ETag again, 304 on revalidation', async function () {
    const first = await api(`/api/video/${bId}/480p/index.m3u8`);
    const second = await api(`/api/video/${bId}/480p/index.m3u8`);
    expect(second.text).to.equal(first.text);
    expect(first.headers.etag).to.be.a('string');
    expect(first.headers['last-modified'], 'no Last-Modified: it would revalidate expired URLs').to.equal(
      undefined,
    );
    expect(second.headers.etag).to.equal(first.headers.etag);
    const again = await api(`/api/video/${bId}/480p/index.m3u8`).set('If-None-Match', first.headers.etag!);
    expect(again.status).to.equal(304);
    const other = await api(`/api/video/${bId}/480p/index.m3u8`, 'other.example.test');
    expect(other.headers.etag, 'another host: another ETag').to.not.equal(first.headers.etag);
  });
});
