/**
 * The TypeScript types of the Video (common/video/types.ts) and the CRD schema in crds/ agree:
 * key lists checked by the compiler against the types (satisfies Record<keyof T, true>) are compared
 * with the schema's properties, and the enums with the shared constants.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parse } from 'yaml';
import {
  CRD_NAME,
  DEPRECATED_VERSIONS,
  GROUP,
  KIND,
  PHASES,
  PLURAL,
  RENDITIONS,
  SHORT_NAME,
  VERSION,
  type ChunkingSpec,
  type ChunksStatus,
  type Condition,
  type ObjectRef,
  type RenditionPhase,
  type RenditionProgress,
  type RenditionStatus,
  type RetryStatus,
  type SourceInfo,
  type VideoSpec,
  type VideoStatus,
} from '../../../common/video/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

type Keys<T> = Record<keyof Required<T>, true>;
const specKeys = {
  title: true,
  description: true,
  category: true,
  source: true,
  renditions: true,
  thumbnailTime: true,
  chunking: true,
} satisfies Keys<VideoSpec>;
const chunkingKeys = {
  thresholdSeconds: true,
  chunkSeconds: true,
  parallelism: true,
} satisfies Keys<ChunkingSpec>;
const chunksKeys = { done: true, total: true } satisfies Keys<ChunksStatus>;
const refKeys = { bucket: true, key: true } satisfies Keys<ObjectRef>;
const statusKeys = {
  phase: true,
  observedGeneration: true,
  conditions: true,
  renditions: true,
  renditionsReady: true,
  renditionsTotal: true,
  renditionsSummary: true,
  durationText: true,
  progressSummary: true,
  chunksSummary: true,
  source: true,
  masterPlaylistKey: true,
  thumbnailKey: true,
  message: true,
  retry: true,
} satisfies Keys<VideoStatus>;
const retryKeys = {
  attempts: true,
  observedAnnotation: true,
  notBefore: true,
  retiredJobs: true,
} satisfies Keys<RetryStatus>;
const conditionKeys = {
  type: true,
  status: true,
  reason: true,
  message: true,
  observedGeneration: true,
  lastTransitionTime: true,
} satisfies Keys<Condition>;
const renditionKeys = {
  name: true,
  phase: true,
  job: true,
  message: true,
  playlistKey: true,
  progress: true,
  chunks: true,
} satisfies Keys<RenditionStatus>;
const progressKeys = {
  percent: true,
  speed: true,
  estimatedCompletionTime: true,
  updatedAt: true,
} satisfies Keys<RenditionProgress>;
const sourceKeys = {
  durationSeconds: true,
  width: true,
  height: true,
  hasAudio: true,
} satisfies Keys<SourceInfo>;
const renditionPhases = {
  Pending: true,
  Running: true,
  Succeeded: true,
  Failed: true,
  Skipped: true,
} satisfies Record<RenditionPhase, true>;

interface Schema {
  type?: string;
  required?: string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  enum?: unknown[];
}

const crd = parse(fs.readFileSync(path.join(ROOT, 'crds/media.videoflix.io_videos.yaml'), 'utf8')) as {
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; shortNames: string[]; categories: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      deprecated?: boolean;
      deprecationWarning?: string;
      schema: { openAPIV3Schema: Schema };
      subresources?: { status?: object };
      additionalPrinterColumns: Array<{ name: string; jsonPath: string }>;
    }>;
  };
};
const version = crd.spec.versions.find((v) => v.storage)!;
const root = version.schema.openAPIV3Schema;
const spec = root.properties!.spec!;
const status = root.properties!.status!;
const names = (s: Schema | undefined) => Object.keys(s?.properties ?? {}).sort();
const sorted = (o: object) => Object.keys(o).sort();

describe('Video CRD and TypeScript types agree', () => {
  it('names, group, version, scope, status subresource', () => {
    expect(crd.metadata.name).to.equal(CRD_NAME);
    expect(crd.spec.group).to.equal(GROUP);
    expect(version.name).to.equal(VERSION);
    expect(crd.spec.names.kind).to.equal(KIND);
    expect(crd.spec.names.plural).to.equal(PLURAL);
    expect(crd.spec.names.shortNames).to.deep.equal([SHORT_NAME]);
    expect(crd.spec.names.categories).to.include('videoflix');
    expect(crd.spec.scope).to.equal('Namespaced');
    expect(version.subresources?.status).to.deep.equal({});
  });

  it('serves v1beta1 (stored) and the deprecated v1alpha1 with one schema: no conversion webhook needed', () => {
    expect(crd.spec.versions.map((v) => [v.name, v.served, v.storage])).to.deep.equal([
      [VERSION, true, true],
      ...DEPRECATED_VERSIONS.map((n) => [n, true, false]),
    ]);
    const raw = fs.readFileSync(path.join(ROOT, 'crds/media.videoflix.io_videos.yaml'), 'utf8');
    expect(raw, 'one copy of the schema text').to.match(/schema: &videoSchema\n/);
    expect((raw.match(/openAPIV3Schema:/g) ?? []).length).to.equal(1);
    for (const old of crd.spec.versions.filter((v) => !v.storage)) {
      expect(old.deprecated, old.name).to.equal(true);
      expect(old.deprecationWarning, old.name).to.contain(`${GROUP}/${VERSION}`);
      // aliases: the very same values as the stored version's
      expect(old.schema, old.name).to.deep.equal(version.schema);
      expect(old.additionalPrinterColumns, old.name).to.deep.equal(version.additionalPrinterColumns);
      expect(old.subresources, old.name).to.deep.equal(version.subresources);
    }
    expect(JSON.stringify(crd)).not.to.contain('"conversion"');
  });

  it('spec properties and required fields match VideoSpec', () => {
    expect(names(spec)).to.deep.equal(sorted(specKeys));
    expect(names(spec.properties!.source)).to.deep.equal(sorted(refKeys));
    expect(names(spec.properties!.chunking)).to.deep.equal(sorted(chunkingKeys));
    expect(spec.required?.sort()).to.deep.equal(['source', 'title']);
    expect(spec.properties!.source!.required?.sort()).to.deep.equal(['bucket', 'key']);
  });

  it('status properties match VideoStatus and its parts', () => {
    expect(names(status)).to.deep.equal(sorted(statusKeys));
    expect(names(status.properties!.conditions!.items)).to.deep.equal(sorted(conditionKeys));
    expect(names(status.properties!.renditions!.items)).to.deep.equal(sorted(renditionKeys));
    expect(names(status.properties!.source)).to.deep.equal(sorted(sourceKeys));
    expect(names(status.properties!.retry)).to.deep.equal(sorted(retryKeys));
    expect(names(status.properties!.renditions!.items!.properties!.chunks)).to.deep.equal(sorted(chunksKeys));
    expect(names(status.properties!.renditions!.items!.properties!.progress)).to.deep.equal(
      sorted(progressKeys),
    );
  });

  it('enums are the shared constants', () => {
    expect(spec.properties!.renditions!.items!.enum).to.deep.equal([...RENDITIONS]);
    expect(status.properties!.phase!.enum).to.deep.equal([...PHASES]);
    expect(status.properties!.renditions!.items!.properties!.name!.enum).to.deep.equal([...RENDITIONS]);
    expect(status.properties!.renditions!.items!.properties!.phase!.enum).to.deep.equal(
      sorted(renditionPhases).sort(
        (a, b) => Object.keys(renditionPhases).indexOf(a) - Object.keys(renditionPhases).indexOf(b),
      ),
    );
  });

  it('printer columns point at fields that exist', () => {
    const cols = Object.fromEntries(version.additionalPrinterColumns.map((c) => [c.name, c.jsonPath]));
    expect(Object.keys(cols)).to.include.members([
      'Title',
      'Phase',
      'Renditions',
      'Progress',
      'Duration',
      'Age',
    ]);
    expect(cols.Progress).to.equal('.status.progressSummary');
    for (const p of Object.values(cols)) {
      const m = /^\.(spec|status)\.(\w+)/.exec(p);
      if (!m) continue;
      const props = m[1] === 'spec' ? specKeys : statusKeys;
      expect(Object.keys(props), p).to.include(m[2]);
    }
  });
});
