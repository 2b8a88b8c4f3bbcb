// Over 300 lines: one benchmark read top to bottom (set-up, runs, the printed table), as its siblings.
/**
 * Benchmark 2 (issue 16): HLS streaming through the API's authenticated routes against the same
 * objects fetched straight from the S3 server with presigned URLs, 50 concurrent clients each.
 * Two targets (BENCH_STREAM_TARGET):
 *
 * - `kind`: the platform as users run it (what `make dev` installed; hack/bench.sh sets BENCH_API_URL
 *   and the rest, see support/kind.ts): a Ready video's 720p segments and its playlists through the
 *   ingress (Traefik → API Pod → versitygw Pod), signed-in cookie, against the same objects fetched
 *   from versitygw through a temporary NodePort Service on the kind node's IP with presigned URLs.
 *   The video: BENCH_STREAM_VIDEO_ID (time-to-ready's sample, deleted afterwards when
 *   BENCH_STREAM_DELETE_VIDEO=1), else the newest Ready one. CPU per request of the API Pods,
 *   Traefik and versitygw from their cgroups on the node.
 * - `host` (default): the API alone, as a child process on the host tier (no ingress, no Pods):
 *
 * A real 720p rendition (18 s source, the transcoder's own ffmpeg settings: 6 s segments at
 * 2800k) is put into the media bucket under the keys the transcoder uses, with a master playlist
 * built by the operator's buildMasterPlaylist, and a Ready catalog row pointing at it. Two loads:
 * segments (what a player fetches most; MB/s matters) and playlists (small, req/s matters).
 * Reported: req/s, MB/s, p50/p99, and CPU ms per request of the API process (and of versitygw,
 * which serves both paths).
 * Streaming offload (issue 23): on kind the platform's mode is read from its variant playlist (presigned
 * URLs: offload, the chart's default behind its Ingress); in offload the segment load goes through the
 * ingress to versitygw with the playlist's URLs and no cookie (goal ≥ 0.95 of direct, API CPU per segment
 * ≤ per playlist), and the old segment route's 302 is measured; the other mode needs
 * `helm upgrade --reuse-values --set streaming.mode=proxy|offload` and a second run. On the host tier the
 * API runs proxy first, then is restarted with STREAMING_MODE=offload (URLs signed for versitygw's own
 * address: no ingress there): offloaded segments against direct and against the proxy figures.
 *   BENCH_DURATION=10 (seconds per load run)
 *   BENCH_STREAM_URL, BENCH_STREAM_COOKIE: also measure through an ingress (set by hack/bench.sh
 *   when the kind platform is up).
 */
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { keys, type RenditionMetadata } from '../common/video/index.js';
import { buildMasterPlaylist } from '../operator/video/playlist.js';
import { getWithHost } from '@videoflix/testkit/http';
import { createMediaDir } from '@videoflix/testkit/media';
import { login, startApi } from './support/api.js';
import { ffmpeg, inputArgs, probeSource, renditionOutput } from './support/encode.js';
import { directS3, ingressPods, platformEnv, podCpu, podsDrained } from './support/kind.js';
import { hostTier, notRun, procCpuSeconds, report, say } from './support/lib.js';
import { cpuPerRequest, drained, load, type LoadResult } from './support/load.js';

const BENCH = 'streaming (host)';
const KIND_BENCH = 'streaming (kind)';
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CLIENTS = 50;

async function hostMain() {
  const { env, release } = await hostTier();
  const api = await startApi('streaming');
  const mediaDir = await createMediaDir('videoflix-bench-stream-');
  const s3pid = env.state.processes.versitygw!.pid;
  try {
    const source = await mediaDir.clip({ durationSec: 18, width: 1280, height: 720, fps: 25 });
    const info = await probeSource(source);
    const out = path.join(mediaDir.dir, 'hls');
    await ffmpeg([...inputArgs(source), ...(await renditionOutput(info, source, out, '720p'))]);
    const files = (await fsp.readdir(path.join(out, '720p'))).sort();
    const segments = files.filter((f) => f.endsWith('.ts'));
    const uid = crypto.randomUUID();
    let segBytes = 0;
    for (const f of files) {
      const st = await fsp.stat(path.join(out, '720p', f));
      if (f.endsWith('.ts')) segBytes += st.size;
      await api.s3.fPutObject(api.media, keys.segment(uid, '720p', f), path.join(out, '720p', f), {
        'Content-Type': f.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : 'video/MP2T',
      });
    }
    const meta: RenditionMetadata = {
      name: '720p',
      width: 1280,
      height: 720,
      bandwidth: 3_000_000,
      averageBandwidth: 2_800_000,
      codecs: 'avc1.640020,mp4a.40.2',
      frameRate: 25,
      segmentDuration: 6,
      segmentStarts: segments.map((_, i) => i * 6),
    };
    const master = Buffer.from(buildMasterPlaylist([meta]));
    await api.s3.putObject(api.media, keys.master(uid), master, master.length, {
      'Content-Type': 'application/vnd.apple.mpegurl',
    });
    const [rows] = (await api.db.sequelize.query(
      `INSERT INTO videos (title, description, category, namespace, name, uid, phase, renditions, master_playlist_key,
                           thumbnail_key, duration_seconds, created_at, updated_at)
       VALUES ('Bench stream', '', 'Bench', 'bench', 'bench-stream', :uid, 'Ready', '[{"name":"720p","phase":"Succeeded"}]'::jsonb, :master, NULL, 18, now(), now())
       RETURNING id`,
      { replacements: { uid, master: keys.master(uid) } },
    )) as unknown as [Array<{ id: number }>];
    const id = rows[0]!.id;
    say(
      `  720p rendition: ${segments.length} segments, ${(segBytes / segments.length / 1024).toFixed(0)} KiB each on average`,
    );

    const apiSegs = segments.map((s) => `/api/video/${id}/720p/${s}/`);
    const apiLists = [`/api/video/${id}/master.m3u8`, `/api/video/${id}/720p/index.m3u8`];
    const presign = async (key: string) => {
      const u = new URL(await api.s3.presignedGetObject(api.media, key, 3600));
      return u.pathname + u.search;
    };
    const directSegs = await Promise.all(segments.map((s) => presign(keys.segment(uid, '720p', s))));
    const directLists = await Promise.all([presign(keys.master(uid)), presign(keys.playlist(uid, '720p'))]);
    // a check that both paths answer 200 before loading them
    for (const u of [`${api.url}${apiSegs[0]}`, `${api.url}${apiLists[0]}`]) {
      const r = await fetch(u, { headers: { cookie: api.cookie } });
      if (r.status !== 200) throw new Error(`${u}: ${r.status} ${await r.text()}`);
      await r.arrayBuffer();
    }
    const s3url = new URL(process.env.S3_ENDPOINT!).origin;

    const run = async (
      base: string,
      paths: string[],
      headers: Record<string, string>,
    ): Promise<LoadResult & { s3CpuMsPerReq: number }> => {
      await drained(api.child.pid, 30_000);
      const c0 = procCpuSeconds(s3pid);
      const r = await load({
        url: base,
        connections: CLIENTS,
        durationSec: DURATION,
        paths,
        headers,
        serverPid: api.child.pid,
      });
      return { ...r, s3CpuMsPerReq: r.requests ? ((procCpuSeconds(s3pid) - c0) * 1000) / r.requests : NaN };
    };
    const detail = (r: LoadResult) =>
      `${r.rps.toFixed(0)} req/s, ${r.mbps.toFixed(1)} MB/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.errors} errors`;
    const proxied: Record<string, LoadResult> = {};
    const proxyCpu: Record<string, number> = {};
    for (const [kind, apiPaths, directPaths] of [
      ['segments', apiSegs, directSegs],
      ['playlists', apiLists, directLists],
    ] as const) {
      const viaApi = await run(api.url, apiPaths, { cookie: api.cookie });
      const direct = await run(s3url, directPaths, {});
      proxied[kind] = viaApi;
      report({
        bench: BENCH,
        metric: `${kind} via API (${CLIENTS} clients) req/s`,
        value: viaApi.rps,
        unit: 'req/s',
        baseline: { label: 'presigned direct from S3', value: direct.rps },
        ratio: viaApi.rps / direct.rps,
        goal: kind === 'segments' ? '≥ 0.8' : undefined,
        note: `API: ${detail(viaApi)}; direct: ${detail(direct)}`,
      });
      report({
        bench: BENCH,
        metric: `${kind} via API MB/s`,
        value: viaApi.mbps,
        unit: 'MB/s',
        baseline: { label: 'direct', value: direct.mbps },
        ratio: viaApi.mbps / direct.mbps,
      });
      await drained(api.child.pid, 30_000);
      const [apiCpu, s3Behind] = await cpuPerRequest(
        apiPaths.map((p) => `${api.url}${p}`),
        [api.child.pid, s3pid],
        { headers: { cookie: api.cookie } },
      );
      const [, s3Direct] = await cpuPerRequest(
        directPaths.map((p) => `${s3url}${p}`),
        [api.child.pid, s3pid],
      );
      report({
        bench: BENCH,
        metric: `${kind}: API CPU per request`,
        value: apiCpu!,
        unit: 'ms',
        baseline: { label: 'versitygw CPU/req fetched direct', value: s3Direct! },
        ratio: apiCpu! / s3Direct!,
        note: `closed loop of 40 requests, 4 at a time; versitygw CPU/req behind the API ${s3Behind!.toFixed(2)} ms; during the timed run ${viaApi.cpuMsPerReq?.toFixed(1)} ms/req (in-flight work included)`,
      });
      proxyCpu[kind] = apiCpu!;
    }

    // Streaming offload (issue 23): the same API restarted with STREAMING_MODE=offload. No ingress on the host
    // tier: URLs are signed for the S3 server's own address, and the player's segment requests go to it.
    const s3Host = new URL(s3url).host;
    await api.restart({ STREAMING_MODE: 'offload', STREAMING_HOSTS: s3Host });
    const variant = `${api.url}${apiLists[1]}`;
    const signed = await getWithHost(variant, s3Host, { cookie: api.cookie });
    const signedText = signed.body.toString('utf8');
    if (signed.status !== 200) throw new Error(`offload playlist: ${signed.status} ${signedText}`);
    const offloadSegs = signedText
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    if (!offloadSegs.every((u) => u.includes('X-Amz-Signature=')))
      throw new Error(`offload playlist without presigned URLs: ${signedText}`);
    const offload = await run(s3url, offloadSegs, {});
    const direct = await run(s3url, directSegs, {});
    report({
      bench: BENCH,
      metric: `segments offloaded (${CLIENTS} clients) req/s`,
      value: offload.rps,
      unit: 'req/s',
      baseline: { label: 'presigned direct from S3', value: direct.rps },
      ratio: offload.rps / direct.rps,
      goal: '≥ 0.95',
      note: `offload: ${detail(offload)}; direct: ${detail(direct)}; proxy (before): ${detail(proxied.segments!)}, ${(offload.rps / proxied.segments!.rps).toFixed(2)} × proxy`,
    });
    await drained(api.child.pid, 30_000);
    const [playlistCpu] = await cpuPerRequest([variant], [api.child.pid], {
      request: async (u) => (await getWithHost(u, s3Host, { cookie: api.cookie })).status,
    });
    const [redirectCpu] = await cpuPerRequest([`${api.url}${apiSegs[0]}`], [api.child.pid], {
      request: async (u) => (await getWithHost(u, s3Host, { cookie: api.cookie })).status,
      expect: 302,
    });
    report({
      bench: BENCH,
      metric: 'offload: API CPU per segment',
      value: 0,
      unit: 'ms',
      baseline: { label: 'API CPU per signed variant playlist', value: playlistCpu! },
      note: `segments never reach the API; an old client's segment route answers 302 at ${redirectCpu!.toFixed(2)} ms; proxy mode: ${proxyCpu.segments!.toFixed(1)} ms per segment, ${proxyCpu.playlists!.toFixed(2)} ms per playlist (closed loops of 40 requests, 4 at a time)`,
    });
  } finally {
    await mediaDir.cleanup();
    await api.stop();
    await release();
  }
}

interface AdminVideo {
  id: number;
  title: string;
  phase: string;
  resource: { namespace: string; name: string; uid: string } | null;
  createdAt?: string;
}

/** The platform on kind: through the ingress against versitygw reached directly (see the header). */
async function kindMain() {
  const p = platformEnv();
  if (!p) {
    notRun(KIND_BENCH, process.env.BENCH_PLATFORM_REASON || 'BENCH_API_URL / BENCH_KUBECONFIG not set');
    return;
  }
  const origin = new URL(p.apiUrl).origin;
  const cookie = await login(p.apiUrl, p.email, p.password, origin);
  const list = (await (
    await fetch(`${p.apiUrl}/api/admin/videos/`, { headers: { cookie } })
  ).json()) as AdminVideo[];
  const wanted = process.env.BENCH_STREAM_VIDEO_ID;
  const video = wanted
    ? list.find((v) => String(v.id) === wanted && v.phase === 'Ready')
    : list.filter((v) => v.phase === 'Ready' && v.resource).sort((a, b) => b.id - a.id)[0];
  if (!video?.resource) {
    notRun(KIND_BENCH, `no Ready video on the platform${wanted ? ` (wanted ${wanted})` : ''}`);
    return;
  }
  const uid = video.resource.uid;
  const s3 = await directS3(p.kubeconfig);
  try {
    const playlist = await (
      await fetch(`${p.apiUrl}/api/video/${video.id}/720p/index.m3u8`, { headers: { cookie } })
    ).text();
    const variantUrl = new URL(`/api/video/${video.id}/720p/index.m3u8`, p.apiUrl);
    const lines = playlist
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    // streaming offload (issue 23; the chart's default behind its Ingress): presigned same-origin S3 URLs
    const offloaded = lines.length > 0 && lines.every((l) => l.includes('X-Amz-Signature='));
    const segments = lines.map((l) => path.posix.basename(l.replace(/\/+$/, '').split('?')[0]!));
    if (!segments.length) throw new Error(`video ${video.id}: no segments in its 720p playlist: ${playlist}`);
    const sizes = await Promise.all(
      segments.map(
        async (s) => (await s3.client.statObject(s3.mediaBucket, keys.segment(uid, '720p', s))).size,
      ),
    );
    say(
      `  video ${video.id} "${video.title}": 720p, ${segments.length} segments, ${(sizes.reduce((a, b) => a + b, 0) / sizes.length / 1024).toFixed(0)} KiB each on average; direct S3 at ${s3.endpoint} (NodePort)`,
    );
    const routeSegs = segments.map((s) => `/api/video/${video.id}/720p/${s}/`);
    const apiSegs = offloaded
      ? lines.map((l) => {
          const u = new URL(l, variantUrl);
          return u.pathname + u.search;
        })
      : routeSegs;
    const via = offloaded ? 'ingress + S3 (offload)' : 'ingress + API';
    say(
      `  streaming mode of the platform: ${offloaded ? 'offload (segments from versitygw through the media Ingress, presigned)' : 'proxy (segments through the API)'}; the other mode: helm upgrade --reuse-values --set streaming.mode=${offloaded ? 'proxy' : 'offload'} and run again`,
    );
    const apiLists = [`/api/video/${video.id}/master.m3u8`, `/api/video/${video.id}/720p/index.m3u8`];
    const presign = async (key: string) => {
      const u = new URL(await s3.client.presignedGetObject(s3.mediaBucket, key, 3600));
      return u.pathname + u.search;
    };
    const directSegs = await Promise.all(segments.map((s) => presign(keys.segment(uid, '720p', s))));
    const directLists = await Promise.all([presign(keys.master(uid)), presign(keys.playlist(uid, '720p'))]);
    for (const [u, h] of [
      [`${p.apiUrl}${apiSegs[0]}`, { cookie }],
      [`${p.apiUrl}${apiLists[0]}`, { cookie }],
      [`${s3.endpoint}${directSegs[0]}`, {}],
      [`${s3.endpoint}${directLists[0]}`, {}],
    ] as const) {
      const r = await fetch(u, { headers: h });
      if (r.status !== 200) throw new Error(`${u}: ${r.status} ${await r.text()}`);
      await r.arrayBuffer();
    }
    const [apiCpu, gwCpu, ingressCpu] = await Promise.all([
      podCpu(p.kubeconfig, 'app.kubernetes.io/component=api'),
      podCpu(p.kubeconfig, 'app.kubernetes.io/component=versitygw'),
      ingressPods(p.kubeconfig),
    ]);
    say(
      `  CPU from the cgroups of ${[...apiCpu.pods, ...gwCpu.pods, ...(ingressCpu?.pods ?? [])].join(', ')}`,
    );
    const readAll = async () =>
      Promise.all([apiCpu.read(), gwCpu.read(), ingressCpu ? ingressCpu.read() : Promise.resolve(NaN)]);
    const run = async (base: string, paths: string[], headers: Record<string, string>) => {
      await podsDrained(apiCpu.read);
      await podsDrained(gwCpu.read);
      const c0 = await readAll();
      const r = await load({ url: base, connections: CLIENTS, durationSec: DURATION, paths, headers });
      await podsDrained(apiCpu.read); // the answers still in flight belong to this run
      const c1 = await readAll();
      const per = (i: number) => (r.requests ? ((c1[i]! - c0[i]!) * 1000) / r.requests : NaN);
      return { ...r, apiMs: per(0), s3Ms: per(1), ingressMs: per(2) };
    };
    const detail = (r: Awaited<ReturnType<typeof run>>) =>
      `${r.rps.toFixed(0)} req/s, ${r.mbps.toFixed(1)} MB/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.errors} errors`;
    for (const [kind, apiPaths, directPaths] of [
      ['segments', apiSegs, directSegs],
      ['playlists', apiLists, directLists],
    ] as const) {
      // offloaded segments carry no cookie (the access cookie's path is /api/)
      const headers: Record<string, string> = kind === 'segments' && offloaded ? {} : { cookie };
      const viaApi = await run(p.apiUrl, apiPaths, headers);
      const direct = await run(s3.endpoint, directPaths, {});
      report({
        bench: KIND_BENCH,
        metric: `${kind} via ${kind === 'segments' ? via : 'ingress + API'} (${CLIENTS} clients) req/s`,
        value: viaApi.rps,
        unit: 'req/s',
        baseline: { label: 'presigned direct from versitygw', value: direct.rps },
        ratio: viaApi.rps / direct.rps,
        goal: kind === 'segments' ? (offloaded ? '≥ 0.95' : '≥ 0.8') : undefined,
        note: `via ingress: ${detail(viaApi)}; direct (NodePort): ${detail(direct)}`,
      });
      report({
        bench: KIND_BENCH,
        metric: `${kind} via ${kind === 'segments' ? via : 'ingress + API'} MB/s`,
        value: viaApi.mbps,
        unit: 'MB/s',
        baseline: { label: 'direct', value: direct.mbps },
        ratio: viaApi.mbps / direct.mbps,
      });
      for (const q of ['p50', 'p99'] as const)
        report({
          bench: KIND_BENCH,
          metric: `${kind} via ${kind === 'segments' ? via : 'ingress + API'} ${q} latency`,
          value: viaApi[q],
          unit: 'ms',
          baseline: { label: `direct ${q}`, value: direct[q] },
          ratio: viaApi[q] / direct[q],
        });
      // CPU per request from a closed loop (every request answered before the cgroups are read again)
      await podsDrained(apiCpu.read);
      await podsDrained(gwCpu.read);
      const meters = [apiCpu.read, gwCpu.read, ...(ingressCpu ? [ingressCpu.read] : [])];
      const [apiMs, s3Behind, ingressMs] = await cpuPerRequest(
        apiPaths.map((x) => `${p.apiUrl}${x}`),
        meters,
        { headers },
      );
      const [, s3Direct] = await cpuPerRequest(
        directPaths.map((x) => `${s3.endpoint}${x}`),
        meters,
      );
      report({
        bench: KIND_BENCH,
        metric: `${kind}: API Pods' CPU per request`,
        value: apiMs!,
        unit: 'ms',
        baseline: { label: 'versitygw CPU/req fetched direct', value: s3Direct! },
        ratio: apiMs! / s3Direct!,
        goal: kind === 'segments' && offloaded ? '≤ API CPU per playlist' : undefined,
        note: `cgroups, closed loop of 40 requests, 4 at a time; behind the API: versitygw ${s3Behind!.toFixed(2)} ms, Traefik ${ingressMs?.toFixed(2) ?? '?'} ms per request; during the timed run (answers in flight at its end included) API ${viaApi.apiMs.toFixed(1)} ms, versitygw ${viaApi.s3Ms.toFixed(2)} ms, Traefik ${viaApi.ingressMs.toFixed(2)} ms per request`,
      });
    }
    if (offloaded) {
      // what an old client's segment route costs now: a 302 to the presigned URL (not followed)
      await podsDrained(apiCpu.read);
      const [redirectMs] = await cpuPerRequest(
        routeSegs.map((x) => `${p.apiUrl}${x}`),
        [apiCpu.read],
        {
          request: async (u) => {
            const res = await fetch(u, { headers: { cookie }, redirect: 'manual' });
            await res.arrayBuffer();
            return res.status;
          },
          expect: 302,
        },
      );
      report({
        bench: KIND_BENCH,
        metric: "offload: the segment route's 302, API Pods' CPU per request",
        value: redirectMs!,
        unit: 'ms',
        note: 'old clients: /api/video/<id>/<res>/<segment>/ answers 302 to the presigned URL',
      });
    }
  } finally {
    await s3.stop();
    if (wanted && process.env.BENCH_STREAM_DELETE_VIDEO === '1') {
      await fetch(`${p.apiUrl}/api/admin/videos/${video.id}/`, {
        method: 'DELETE',
        headers: { cookie, origin },
      }).catch(() => undefined);
    }
  }
}

const main = () => (process.env.BENCH_STREAM_TARGET === 'kind' ? kindMain() : hostMain());

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`streaming failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
