/**
 * probe.json and rendition.json are read against their schemas (common/video/media-files.ts): a file
 * that does not match fails the Video with the reason, never a crash or a reconcile loop. The test
 * plays the transcoder and writes malformed files where the real one writes good ones.
 */
import { expect } from 'chai';
import { FINALIZER, keys, type ProbeResult, type RenditionName } from '../../../common/video/index.js';
import { createTestNamespace } from '../../support/kube.js';
import { waitFor } from '../../support/waiters.js';
import {
  applyVideoCrd,
  clients,
  completeJob,
  createVideo,
  dropNamespace,
  ensureTranscoderServiceAccount,
  getVideo,
  makeBuckets,
  s3,
  startOperator,
  waitJobs,
  waitPhase,
  writeProbe,
  writeRendition,
  type RunningOperator,
} from './helpers.js';

const PROBE_720: ProbeResult = { durationSeconds: 30, width: 1280, height: 720, hasAudio: true };

describe('operator: malformed probe.json / rendition.json', function () {
  this.timeout(60_000);
  const { kc, custom, batch, core } = clients();
  const storage = s3();
  let ns: string;
  let buckets: { media: string; sources: string };
  let op: RunningOperator | undefined;

  before(async () => {
    await applyVideoCrd();
    buckets = await makeBuckets(storage);
  });

  beforeEach(async () => {
    ns = await createTestNamespace(kc, 'mf');
    await ensureTranscoderServiceAccount(core, ns);
    op = await startOperator({ namespace: ns, mediaBucket: buckets.media, sourceBucket: buckets.sources });
  });

  afterEach(async () => {
    await op?.stop();
    op = undefined;
    await dropNamespace(kc, custom, ns);
  });

  async function uidOf(name: string, renditions: RenditionName[]): Promise<string> {
    await createVideo(custom, ns, name, {
      source: { bucket: buckets.sources, key: `uploads/${name}.mp4` },
      renditions,
    });
    const v = await waitFor(
      async () => {
        const x = await getVideo(custom, ns, name);
        return x.metadata.finalizers?.includes(FINALIZER) ? x : undefined;
      },
      { what: 'finalizer' },
    );
    await waitJobs(batch, ns, [`${name}-thumbnail`]);
    return v.metadata.uid!;
  }

  it('a probe.json with a height that is not a number fails the Video, naming the field', async () => {
    const uid = await uidOf('badprobe', ['480p']);
    // "1080" as a string: compared as a number it passes, and would reach the status the CRD refuses
    await writeProbe(storage, buckets.media, uid, { ...PROBE_720, height: '1080' } as unknown as ProbeResult);
    await completeJob(batch, ns, 'badprobe-thumbnail');
    const v = await waitPhase(custom, ns, 'badprobe', 'Failed');
    const failed = v.status?.conditions?.find((c) => c.type === 'Failed');
    expect(failed?.reason).to.equal('StorageError');
    expect(failed?.message).to.match(new RegExp(`${keys.probe(uid)} is malformed: height`));
    expect(v.status?.source).to.equal(undefined);
  });

  it('a rendition.json without codecs fails the Video, naming the rendition and the field', async () => {
    const uid = await uidOf('badmeta', ['480p', '720p']);
    await writeProbe(storage, buckets.media, uid, PROBE_720);
    await completeJob(batch, ns, 'badmeta-thumbnail');
    await waitJobs(batch, ns, ['badmeta-480p', 'badmeta-720p']);
    for (const r of ['480p', '720p'] as const) {
      const meta = await writeRendition(storage, buckets.media, uid, r);
      if (r === '720p') {
        const { codecs: _dropped, ...rest } = meta;
        await storage.putObject(buckets.media, keys.renditionMeta(uid, r), Buffer.from(JSON.stringify(rest)));
      }
      await completeJob(batch, ns, `badmeta-${r}`);
    }
    const v = await waitPhase(custom, ns, 'badmeta', 'Failed');
    const failed = v.status?.conditions?.find((c) => c.type === 'Failed');
    expect(failed?.message).to.match(
      new RegExp(`720p: ${keys.renditionMeta(uid, '720p')} is malformed: codecs`),
    );
    expect(v.status?.masterPlaylistKey).to.equal(undefined);
  });
});
