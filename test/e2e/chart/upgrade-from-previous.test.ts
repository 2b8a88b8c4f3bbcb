/**
 * `helm upgrade` from the previous release with Videos in flight (issue 25), on the kind cluster:
 * the previous chart (git archive of E2E_PREVIOUS_REV, default 5e95509: the last landed release) is
 * installed with the previous images, three Videos are created and upgraded mid-processing the
 * documented way (the chart's CRD applied first, server-side, then `helm upgrade`): every Video ends
 * Ready with the very same Jobs (same uids, none added), the post-upgrade hook leaves the CRD's
 * storedVersions at [v1beta1], and the catalog (the API's PostgreSQL rows) says Ready for each.
 *
 * Previous images: tagged E2E_PREVIOUS_IMAGE_TAG (default prev-<rev>). Unless E2E_PREVIOUS_BUILD=0, the
 * before hook builds and loads them itself from a detached git worktree of that revision, with that
 * revision's own hack/cluster/images.sh (IMAGE_TAG=<tag>; node-build, node-runtime, api, operator,
 * transcoder; LOCALBIN of this checkout). The current images are IMAGE_TAG (default dev), built as usual.
 *
 * The CRD is cluster-wide and cannot go back to an older storage version: on a cluster where the current
 * CRD was applied already (make dev, an earlier run), the previous release runs on it (it still serves
 * v1alpha1, which the previous code speaks) and the test says so; everything else is checked the same.
 * Fresh cluster: the previous chart installs its own CRD (v1alpha1 stored) and the whole path is run.
 *
 * Run: `npx mocha --config test/.mocharc.e2e.json --grep 'upgrade from the previous release' test/e2e/chart/upgrade-from-previous.test.ts`
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CRD_NAME,
  DEPRECATED_VERSIONS,
  GROUP,
  isVideoFailed,
  isVideoReady,
  LABELS,
  VERSION,
  type Video,
} from '../../../common/video/index.js';
import { createMediaDir, type MediaDir } from '../../support/media.js';
import { openS3, type S3Access } from '../../support/platform.js';
import { CHART, ROOT, helm, kubectl, ok, run, uniqueName, waitUntil } from './helpers.js';

const RELEASE = 'vf';
const FULLNAME = `${RELEASE}-videoflix`;
const IMAGE_TAG = process.env.IMAGE_TAG ?? 'dev';
const PREV_REV = process.env.E2E_PREVIOUS_REV ?? '5e95509';
const PREV_TAG = process.env.E2E_PREVIOUS_IMAGE_TAG ?? `prev-${PREV_REV}`;
const VIDEOS = `videos.${GROUP}`;
const COUNT = 3;

interface Job {
  metadata: { name: string; uid: string; labels?: Record<string, string> };
  status: { active?: number };
}

describe('chart: upgrade from the previous release with Videos in flight', function () {
  this.timeout(90 * 60_000);
  let ns = '';
  let host = '';
  let tmp = '';
  let installed = false;
  let s3: S3Access | undefined;
  let media: MediaDir | undefined;
  let freshCrd = false;
  const names = Array.from({ length: COUNT }, (_, i) => `upgrade-${i}`);

  const releaseArgs = (chart: string, tag: string) => [
    chart,
    '-f',
    path.join(chart, 'ci/kind-values.yaml'),
    '--namespace',
    ns,
    '--wait',
    '--timeout',
    '12m',
    ...['api', 'operator', 'transcoder'].flatMap((c) => ['--set', `${c}.image.tag=${tag}`]),
    '--set',
    `api.ingress.hosts[0].host=${host}`,
    '--set',
    'api.ingress.hosts[0].paths[0].path=/',
    '--set',
    'api.ingress.hosts[0].paths[0].pathType=Prefix',
    '--set',
    `api.publicUrl=http://${host}`,
    '--set',
    `api.frontendUrl=http://${host}`,
  ];
  const jobsOf = async (name: string) =>
    (
      JSON.parse(await kubectl(['get', 'jobs', '-n', ns, '-l', `${LABELS.video}=${name}`, '-o', 'json'])) as {
        items: Job[];
      }
    ).items;
  const getVideo = async (name: string) =>
    JSON.parse(await kubectl(['get', VIDEOS, name, '-n', ns, '-o', 'json'])) as Video;
  const storedVersions = async () =>
    JSON.parse(
      await kubectl(['get', 'crd', CRD_NAME, '-o', 'jsonpath={.status.storedVersions}']),
    ) as string[];
  const catalog = async () =>
    (
      await kubectl([
        'exec',
        '-n',
        ns,
        `statefulset/${FULLNAME}-postgresql`,
        '--',
        'sh',
        '-c',
        'PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -At -F " " ' +
          `-c "SELECT name, phase, coalesce(master_playlist_key, '-') FROM videos WHERE namespace = '${ns}' ORDER BY name"`,
      ])
    )
      .trim()
      .split('\n')
      .filter(Boolean);

  before(async function () {
    ns = uniqueName('vf-upgrade');
    host = `${ns}.videoflix.test`;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vf-upgrade-'));
    // the previous chart, as released
    await ok('sh', ['-c', `git -C "${ROOT}" archive ${PREV_REV} charts/videoflix | tar -x -C "${tmp}"`]);
    const previousChart = path.join(tmp, 'charts/videoflix');
    // the previous images
    if (process.env.E2E_PREVIOUS_BUILD !== '0') {
      const src = path.join(tmp, 'src');
      await ok('git', ['-C', ROOT, 'worktree', 'add', '--detach', src, PREV_REV]);
      const built = await run(
        'env',
        [
          `IMAGE_TAG=${PREV_TAG}`,
          `LOCALBIN=${path.join(ROOT, 'bin')}`,
          path.join(src, 'hack/cluster/images.sh'),
          'node-build',
          'node-runtime',
          'api',
          'operator',
          'transcoder',
        ],
        { timeoutMs: 60 * 60_000 },
      );
      if (built.code !== 0) throw new Error(`previous images (${PREV_REV}):\n${built.stderr.slice(-4000)}`);
    }
    const crd = await run('kubectl', ['get', 'crd', CRD_NAME, '-o', 'name']);
    freshCrd = crd.code !== 0;
    console.log(
      freshCrd
        ? `      fresh cluster: the previous chart installs its CRD (${DEPRECATED_VERSIONS[0]} stored)`
        : '      the cluster has a Video CRD already: the previous release runs on it (not replaced by Helm)',
    );
    // Helm 4 applies a chart's crds/ server-side: over the current CRD (applied by kubectl) that conflicts,
    // so the previous release then installs without its CRD, as an admin would
    const skipCrds = freshCrd ? [] : ['--skip-crds'];
    await helm(
      ['install', RELEASE, ...releaseArgs(previousChart, PREV_TAG), ...skipCrds, '--create-namespace'],
      {
        timeoutMs: 13 * 60_000,
      },
    );
    installed = true;
    s3 = await openS3(ns);
    media = await createMediaDir('videoflix-e2e-upgrade-');
  });

  after(async function () {
    this.timeout(10 * 60_000);
    await s3?.stop().catch(() => undefined);
    await media?.cleanup().catch(() => undefined);
    if (installed) {
      await run('kubectl', ['delete', VIDEOS, '--all', '-n', ns, '--wait=true', '--timeout=180s']);
      await run('helm', ['uninstall', RELEASE, '-n', ns, '--wait', '--timeout', '3m']);
    }
    if (ns) await run('kubectl', ['delete', 'namespace', ns, '--wait=false', '--ignore-not-found']);
    if (tmp) {
      await run('git', ['-C', ROOT, 'worktree', 'remove', '--force', path.join(tmp, 'src')]);
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('ends with every Video Ready, the same Jobs, storedVersions [v1beta1] and the catalog right', async () => {
    // Videos made by the previous release, in the version it speaks
    const file = await media!.clip({ durationSec: 20, width: 1920, height: 1080, fps: 25, audio: true });
    for (const name of names) {
      const key = `e2e-upgrade/${ns}/${name}.mp4`;
      await s3!.client.fPutObject(s3!.sourceBucket, key, file, { 'Content-Type': 'video/mp4' });
      const video = {
        apiVersion: `${GROUP}/${DEPRECATED_VERSIONS[0]}`,
        kind: 'Video',
        metadata: { name, namespace: ns },
        spec: { title: name, source: { bucket: s3!.sourceBucket, key } },
      };
      await kubectl(['create', '-f', '-'], { input: JSON.stringify(video) });
    }
    // in flight: every Job created (thumbnail + 3 rungs each), at least one rendition Job still active
    const before = new Map<string, string>();
    await waitUntil(async () => {
      const all = (await Promise.all(names.map(jobsOf))).flat();
      return all.length === COUNT * 4 ? all : undefined;
    }, 'the previous operator to create every Job');
    for (const j of (await Promise.all(names.map(jobsOf))).flat())
      before.set(j.metadata.name, j.metadata.uid);
    const active = (await Promise.all(names.map(jobsOf))).flat().filter((j) => (j.status.active ?? 0) > 0);
    expect(active.length, 'a Job still running when the upgrade starts').to.be.greaterThan(0);

    // the documented upgrade: the CRD first, then helm upgrade (its post-upgrade hook migrates storage)
    await kubectl(['apply', '--server-side', '--force-conflicts', '-f', path.join(CHART, 'crds')]);
    await helm(['upgrade', RELEASE, ...releaseArgs(CHART, IMAGE_TAG)], { timeoutMs: 13 * 60_000 });
    expect(await storedVersions()).to.deep.equal([VERSION]);

    for (const name of names) {
      const v = await waitUntil(
        async () => {
          const x = await getVideo(name);
          if (isVideoFailed(x)) throw new Error(`Video ${name} Failed: ${x.status?.message ?? ''}`);
          return isVideoReady(x) ? x : undefined;
        },
        `Video ${name} Ready`,
        15 * 60_000,
      );
      expect(v.apiVersion).to.equal(`${GROUP}/${VERSION}`);
      expect(v.status?.renditionsSummary, name).to.equal('3/3');
    }
    const after = (await Promise.all(names.map(jobsOf))).flat();
    expect(new Map(after.map((j) => [j.metadata.name, j.metadata.uid]))).to.deep.equal(before);

    const rows = await waitUntil(async () => {
      const r = await catalog();
      return r.length === COUNT && r.every((l) => / Ready [^-]/.test(l)) ? r : undefined;
    }, 'the catalog rows Ready');
    expect(rows.map((l) => l.split(' ')[0])).to.deep.equal(names);
  });
});
