/**
 * Benchmark 2 (issue 16): HLS streaming through the API's authenticated routes against the same
 * objects fetched straight from the S3 server with presigned URLs, 50 concurrent clients each.
 *
 * A real 720p rendition (18 s source, the transcoder's own ffmpeg settings: 6 s segments at
 * 2800k) is put into the media bucket under the keys the transcoder uses, with a master playlist
 * built by the operator's buildMasterPlaylist, and a Ready catalog row pointing at it. Two loads:
 * segments (what a player fetches most; MB/s matters) and playlists (small, req/s matters).
 * Reported: req/s, MB/s, p50/p99, and CPU ms per request of the API process (and of versitygw,
 * which serves both paths).
 *   BENCH_DURATION=10 (seconds per load run)
 *   BENCH_STREAM_URL, BENCH_STREAM_COOKIE: also measure through an ingress (set by hack/bench.sh
 *   when the kind platform is up).
 */
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { keys, type RenditionMetadata } from '../common/video/index.js';
import { buildMasterPlaylist } from '../operator/video/playlist.js';
import { createMediaDir } from '../test/support/media.js';
import { startApi } from './support/api.js';
import { ffmpeg, inputArgs, probeSource, renditionOutput } from './support/encode.js';
import { hostTier, procCpuSeconds, report, say } from './support/lib.js';
import { cpuPerRequest, drained, load, type LoadResult } from './support/load.js';

const BENCH = 'streaming';
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CLIENTS = 50;

async function main() {
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
    for (const [kind, apiPaths, directPaths] of [
      ['segments', apiSegs, directSegs],
      ['playlists', apiLists, directLists],
    ] as const) {
      const viaApi = await run(api.url, apiPaths, { cookie: api.cookie });
      const direct = await run(s3url, directPaths, {});
      const detail = (r: typeof viaApi) =>
        `${r.rps.toFixed(0)} req/s, ${r.mbps.toFixed(1)} MB/s, p50 ${r.p50} ms, p99 ${r.p99} ms, ${r.errors} errors`;
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
    }
  } finally {
    await mediaDir.cleanup();
    await api.stop();
    await release();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`streaming failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
