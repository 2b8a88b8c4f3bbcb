/**
 * Issue 25 (progress and ETA) end to end on the kind platform (`make dev`'s, test/support/platform.ts
 * brings it up): a 30 s 1080p source is processed by the real transcoder Jobs, which report their
 * progress to the chart's RabbitMQ as their publish-only user; the operator folds the reports into the
 * Video's status. While it processes, `kubectl get videos` shows the PROGRESS column moving and the
 * status carries each running rendition's percent and estimated completion; once Ready, both are gone.
 *
 * Run (the lead, on the kind cluster; the chart must be the one of this branch: `make dev` re-installs it):
 *   npx mocha --config test/.mocharc.e2e.json --grep 'progress and ETA' test/e2e/progress.test.ts
 * Helm never upgrades CRDs: the before hook applies crds/ (server-side) so that the status fields exist.
 */
import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_VERSION, KIND, type Video } from '../../common/video/index.js';
import { createMediaDir, type MediaDir } from '../support/media.js';
import { ensurePlatform, kubectlAsync, kubectlJson, NS, openS3, type S3Access } from '../support/platform.js';
import { waitFor } from '../support/waiters.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const READY_TIMEOUT_MS = Number(process.env.E2E_READY_TIMEOUT_MS ?? 15 * 60_000);
const VIDEOS = `videos.${API_VERSION.split('/')[0]}`;

describe('progress and ETA on the kind platform (kubectl get videos shows PROGRESS)', function () {
  this.timeout(READY_TIMEOUT_MS + 10 * 60_000);
  const name = `e2e-progress-${Date.now().toString(36)}`;
  let s3: S3Access;
  let media: MediaDir;
  let key: string;

  before(async function () {
    this.timeout(90 * 60_000);
    await ensurePlatform();
    await kubectlAsync([
      'apply',
      '--server-side',
      '--force-conflicts',
      '-f',
      path.join(ROOT, 'crds/media.videoflix.io_videos.yaml'),
    ]);
    s3 = await openS3();
    media = await createMediaDir('videoflix-e2e-progress-');
    const clip = await media.clip({ durationSec: 30, width: 1920, height: 1080 });
    key = `e2e-progress/${name}.mp4`;
    await s3.client.fPutObject(s3.sourceBucket, key, clip, { 'Content-Type': 'video/mp4' });
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

  it('shows PROGRESS and per-rendition percent and ETA while Processing, nothing once Ready', async function () {
    const video = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name, namespace: NS, labels: { 'e2e.videoflix.io/suite': 'progress' } },
      spec: { title: `E2E progress ${name}`, source: { bucket: s3.sourceBucket, key } },
    };
    await kubectlAsync(['create', '-f', '-'], { input: JSON.stringify(video) });

    const columns = new Set<string>();
    let header = '';
    let sawEta = false;
    let sawSpeed = false;
    const ready = await waitFor(
      async () => {
        // what an admin types: the table, with its PROGRESS column
        const table = (await kubectlAsync(['get', VIDEOS, name, '-n', NS])).trim().split('\n');
        header = table[0] ?? '';
        const at = header.indexOf('PROGRESS');
        if (at >= 0 && table[1]) {
          const cell = table[1].slice(at).trim().split(/\s+/)[0] ?? '';
          if (/^\d{1,3}%$/.test(cell)) columns.add(cell);
        }
        const v = await kubectlJson<Video>(['get', VIDEOS, name, '-n', NS]);
        for (const r of v.status?.renditions ?? []) {
          if (r.progress?.estimatedCompletionTime) sawEta = true;
          if (r.progress?.speed) sawSpeed = true;
        }
        return v.status?.phase === 'Ready' || v.status?.phase === 'Failed' ? v : undefined;
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 1_000, what: `Video ${name} Ready` },
    );
    console.log(`      PROGRESS values seen: ${[...columns].join(' ')}`);
    expect(ready.status?.phase, ready.status?.message).to.equal('Ready');
    expect(header).to.match(/\bPROGRESS\b/);
    const partial = [...columns].map((c) => Number.parseInt(c, 10)).filter((p) => p > 0 && p < 100);
    expect(
      partial.length,
      `PROGRESS between 0 and 100 % during processing: ${[...columns].join(', ')}`,
    ).to.be.at.least(1);
    expect(sawEta, 'an estimated completion time in status.renditions[].progress').to.equal(true);
    expect(sawSpeed, 'a speed in status.renditions[].progress').to.equal(true);
    expect(ready.status?.progressSummary).to.equal(undefined);
    for (const r of ready.status?.renditions ?? []) expect(r.progress).to.equal(undefined);

    // the rendition Jobs got the broker URL from the transcoder's Secret, the thumbnail Job none
    const job = await kubectlJson<{
      spec: {
        template: { spec: { containers: Array<{ env: Array<{ name: string; valueFrom?: unknown }> }> } };
      };
    }>(['get', 'job', `${name}-720p`, '-n', NS]);
    const env = job.spec.template.spec.containers[0]!.env;
    expect(env.find((e) => e.name === 'PROGRESS_AMQP_URL')?.valueFrom).to.have.nested.property(
      'secretKeyRef.key',
    );
  });
});
