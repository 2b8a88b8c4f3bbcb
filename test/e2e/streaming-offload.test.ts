/**
 * Streaming offload (issue 23) on the kind platform (`make dev`; the chart's default behind its own Ingress):
 * through the ingress, a signed-in user's variant playlist lists presigned same-origin URLs
 * (`/<media bucket>/<uid>/<res>/segment_NNN.ts?X-Amz-...`) that Traefik routes to versitygw, which serves
 * them without any cookie; ffprobe decodes what came back. The S3 server refuses (403) a URL moved to another
 * video's key, a tampered one, an expired one (signed here with the API's own S3 key, read from its Secret,
 * two hours in the past) and an unsigned one; the old segment route answers 302 to the same URL; a Host the
 * API does not sign for gets 421. Skipped (pending) when the platform runs streaming.mode=proxy.
 */
import { expect } from 'chai';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SegmentUrls } from '../../api/catalog/streaming.js';
import { S3Presigner } from '../../common/storage/presign.js';
import { keys } from '../../common/video/index.js';
import { getWithHost } from '@videoflix/testkit/http';
import { probe } from '@videoflix/testkit/media';
import { ensurePlatform, kubectlJson, NS, secretValue, type Endpoints } from '../support/platform.js';

const uris = (text: string) => text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));

interface AdminVideo {
  id: number;
  phase: string;
  resource: { uid: string } | null;
  renditions: Array<{ name: string; phase: string }>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string } };
}

/** An environment variable of the API Deployment's container, resolving a secretKeyRef. */
async function apiEnv(name: string): Promise<string | undefined> {
  const list = await kubectlJson<{
    items: Array<{ spec: { template: { spec: { containers: Array<{ env?: EnvVar[] }> } } } }>;
  }>(['get', 'deployments', '-n', NS, '-l', 'app.kubernetes.io/component=api']);
  const e = list.items[0]?.spec.template.spec.containers[0]?.env?.find((x) => x.name === name);
  if (e?.value !== undefined) return e.value;
  const ref = e?.valueFrom?.secretKeyRef;
  return ref ? secretValue(ref.name, ref.key) : undefined;
}

describe('streaming offload end to end on the kind cluster: presigned segments through the ingress', function () {
  this.timeout(10 * 60_000);
  let env: Endpoints;
  let api: string;
  let cookie: string;
  let video: AdminVideo;
  let other: AdminVideo | undefined;
  let mediaBucket: string;
  let rendition: string;
  let signed: string[];

  before(async function () {
    this.timeout(90 * 60_000); // a cold `hack/dev.sh up` builds images and installs the chart
    env = await ensurePlatform();
    api = env.API_URL.replace(/\/+$/, '');
    if ((await apiEnv('STREAMING_MODE')) !== 'offload') {
      console.log('      the platform runs streaming.mode=proxy: nothing to check here');
      this.skip();
    }
    mediaBucket = (await apiEnv('S3_MEDIA_BUCKET'))!;
    const res = await fetch(`${api}/api/login/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD }),
    });
    expect(res.status).to.equal(200);
    const set = res.headers.getSetCookie();
    const access = set.find((c) => c.startsWith('access_token='))!;
    expect(access, 'the access cookie is narrowed to the API in offload mode').to.match(/;\s*Path=\/api\//i);
    cookie = set.map((c) => c.split(';')[0]).join('; ');
    // make dev's sample (or any Ready video), and a second one when there is one
    const list = (await (
      await fetch(`${api}/api/admin/videos/`, { headers: { cookie } })
    ).json()) as AdminVideo[];
    const ready = list.filter((v) => v.phase === 'Ready' && v.resource).sort((a, b) => b.id - a.id);
    if (!ready.length)
      throw new Error('no Ready video on the platform (make dev uploads a sample: DEV_SAMPLE=always)');
    video = ready.find((v) => String(v.id) === env.SAMPLE_VIDEO) ?? ready[0]!;
    other = ready.find((v) => v.id !== video.id);
    rendition = video.renditions.find((r) => r.phase === 'Succeeded')!.name;
    const pl = await fetch(`${api}/api/video/${video.id}/${rendition}/index.m3u8`, { headers: { cookie } });
    expect(pl.status).to.equal(200);
    signed = uris(await pl.text());
  });

  it('lists presigned same-origin URLs that the ingress serves from S3 without a cookie; ffprobe decodes them', async function () {
    expect(signed.length).to.be.greaterThan(0);
    const out = path.join(await fsp.mkdtemp(path.join(os.tmpdir(), 'videoflix-offload-')), `${rendition}.ts`);
    try {
      for (const [i, u] of signed.entries()) {
        const url = new URL(u, `${api}/api/video/${video.id}/${rendition}/index.m3u8`);
        expect(url.origin, 'same origin as the API').to.equal(new URL(api).origin);
        expect(url.pathname).to.equal(
          `/${mediaBucket}/${keys.segment(video.resource!.uid, rendition as '480p', path.posix.basename(url.pathname))}`,
        );
        expect(url.searchParams.get('X-Amz-Signature')).to.match(/^[0-9a-f]{64}$/);
        const seg = await fetch(url); // no cookie
        expect(seg.status, `segment ${i}: ${url.pathname}`).to.equal(200);
        expect(seg.headers.get('content-type')).to.equal('video/MP2T');
        await fsp.appendFile(out, Buffer.from(await seg.arrayBuffer()));
      }
      const probed = await probe(out);
      expect(probed.streams.find((st) => st.codec_type === 'video')?.height).to.equal(
        Number(rendition.replace('p', '')),
      );
    } finally {
      await fsp.rm(path.dirname(out), { recursive: true, force: true });
    }
  });

  it("refuses (403) another video's key, another segment, a tampered, a lengthened, an expired and an unsigned URL", async function () {
    const first = new URL(signed[0]!, api);
    const name = path.posix.basename(first.pathname);
    const moved = other?.resource
      ? `/${mediaBucket}/${keys.segment(other.resource.uid, rendition as '480p', name)}${first.search}`
      : undefined;
    const next = first.pathname.replace(
      /segment_(\d+)/,
      (_m, n: string) => `segment_${String(Number(n) + 1).padStart(n.length, '0')}`,
    );
    const tampered = first.search.replace(
      /X-Amz-Signature=(.)/,
      (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`,
    );
    const accessKey = (await apiEnv('S3_ACCESS_KEY'))!;
    const secretKey = (await apiEnv('S3_SECRET_KEY'))!;
    const region = (await apiEnv('S3_REGION')) ?? 'us-east-1';
    const apiSigner = (now?: () => number) =>
      new SegmentUrls({
        presigner: new S3Presigner({ accessKey, secretKey, region }),
        bucket: mediaBucket,
        ttlSeconds: 3600,
        hosts: new Set([first.host]),
        ...(now ? { now } : {}),
      });
    const key = keys.segment(video.resource!.uid, rendition as '480p', name);
    const expired = apiSigner(() => Date.now() - 2 * 3600_000).url(first.host, key);
    const cases: Array<[string, string | undefined]> = [
      ["another video's key", moved],
      ['another segment', signed.length > 1 ? `${next}${first.search}` : undefined],
      ['tampered signature', `${first.pathname}${tampered}`],
      [
        'lengthened expiry',
        `${first.pathname}${first.search.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604800')}`,
      ],
      ['expired', expired],
      ['unsigned', first.pathname],
    ];
    for (const [what, p] of cases) {
      if (!p) continue;
      const res = await fetch(`${api}${p}`, { headers: { cookie } }); // even with the user's cookie
      expect(res.status, `${what}: ${p}`).to.equal(403);
      await res.arrayBuffer();
    }
    // control: the same signer now is accepted (the 403 above is the expiry, not the key)
    const fresh = apiSigner().url(first.host, key);
    expect((await fetch(`${api}${fresh}`)).status).to.equal(200);
  });

  it('answers the old segment route with 302 to the presigned URL (a player following it gets the segment)', async function () {
    const route = `${api}/api/video/${video.id}/${rendition}/${path.posix.basename(new URL(signed[0]!, api).pathname)}/`;
    const res = await fetch(route, { headers: { cookie }, redirect: 'manual' });
    expect(res.status).to.equal(302);
    // the same URL as the playlist's (signed in the same window, or the next one's when a window just ended)
    const location = new URL(res.headers.get('location')!, api);
    expect(location.pathname).to.equal(new URL(signed[0]!, api).pathname);
    expect(location.searchParams.get('X-Amz-Signature')).to.match(/^[0-9a-f]{64}$/);
    const followed = await fetch(route, { headers: { cookie } });
    expect(followed.status).to.equal(200);
    expect(followed.url).to.contain(`/${mediaBucket}/`);
    expect((await fetch(route, { redirect: 'manual' })).status, 'still needs the cookie').to.equal(401);
  });

  it('opens nothing else of S3 through the ingress: no listing, no other bucket, no write', async function () {
    const listing = await fetch(`${api}/${mediaBucket}/`, { headers: { cookie } });
    expect(listing.status, 'listing the media bucket').to.equal(403);
    expect(await listing.text()).to.not.contain(video.resource!.uid);
    const sources = await apiEnv('S3_SOURCE_BUCKET');
    const other = await fetch(`${api}/${sources}/`, { headers: { cookie } });
    expect(other.status, 'the sources bucket is not routed (the API answers 404)').to.equal(404);
    await other.arrayBuffer();
    const first = new URL(signed[0]!, api);
    const put = await fetch(`${api}${first.pathname}${first.search}`, { method: 'PUT', body: 'x' });
    expect(put.status, 'a GET signature does not allow a PUT').to.equal(403);
    await put.arrayBuffer();
  });

  it('answers 421 for a Host the API does not sign for (no URL for an attacker-chosen host)', async function () {
    for (const p of [
      `/api/video/${video.id}/${rendition}/index.m3u8`,
      `/api/video/${video.id}/${rendition}/segment_000.ts/`,
    ]) {
      const res = await getWithHost(`${api}${p}`, 'evil.example.test', { cookie });
      expect(res.status, p).to.equal(421);
      expect(JSON.parse(res.body.toString()).detail).to.match(/not signed for this host/);
      expect(res.body.toString()).to.not.contain('X-Amz');
    }
  });
});
