import { expect } from 'chai';
import { catalogIdOf, type Video, type VideoStatusMessage } from '../../../../common/video/index.js';
import {
  compareResourceVersions,
  freshness,
  nextPhase,
  projectStatusMessage,
  rowFields,
  statusMessageSchema,
  updateFromMessage,
  updateFromResource,
} from '../../../../api/catalog/projection.js';

const message = (over: Partial<VideoStatusMessage> = {}): VideoStatusMessage => ({
  namespace: 'videos',
  name: 'video-abc',
  uid: '7d7e1c0a-0000-4000-8000-000000000001',
  catalogId: 4,
  generation: 1,
  resourceVersion: '120',
  phase: 'Processing',
  title: 'T',
  description: 'D',
  category: 'C',
  renditions: [{ name: '480p', phase: 'Running' }],
  observedAt: '2026-11-26T08:00:00.000Z',
  sequence: 1_790_000_000_000,
  ...over,
});

describe('api catalog: staleness of status news', function () {
  it('compares resourceVersions as integers only when both are', function () {
    expect(compareResourceVersions('9', '10')).to.equal(-1);
    expect(compareResourceVersions('100000000000000000001', '100000000000000000000')).to.equal(1);
    expect(compareResourceVersions('42', '42')).to.equal(0);
    expect(compareResourceVersions('abc', '10')).to.equal(undefined);
    expect(compareResourceVersions('', '10')).to.equal(undefined);
    expect(compareResourceVersions(null, '10')).to.equal(undefined);
  });

  it('applies anything to a row that has seen no status yet', function () {
    expect(freshness({}, { source: 'message', resourceVersion: '5', sequence: 1 })).to.equal('apply');
    expect(
      freshness({ statusSequence: null, resourceVersion: null }, { source: 'resync', resourceVersion: '5' }),
    ).to.equal('apply');
  });

  it('orders by resourceVersion first: older is stale, equal a duplicate, newer applies', function () {
    const row = { statusSequence: '500', resourceVersion: '120' };
    expect(freshness(row, { source: 'message', resourceVersion: '119', sequence: 900 })).to.equal('stale');
    expect(freshness(row, { source: 'message', resourceVersion: '120', sequence: 900 })).to.equal(
      'duplicate',
    );
    expect(freshness(row, { source: 'message', resourceVersion: '121', sequence: 1 })).to.equal('apply');
    expect(freshness(row, { source: 'resync', resourceVersion: '119' })).to.equal('stale');
    expect(freshness(row, { source: 'resync', resourceVersion: '120' })).to.equal('duplicate');
    expect(freshness(row, { source: 'resync', resourceVersion: '130' })).to.equal('apply');
  });

  it('falls back to the sequence for messages when versions cannot be compared', function () {
    const row = { statusSequence: 1000, resourceVersion: 'opaque-a' };
    expect(freshness(row, { source: 'message', resourceVersion: 'opaque-b', sequence: 999 })).to.equal(
      'stale',
    );
    expect(freshness(row, { source: 'message', resourceVersion: 'opaque-b', sequence: 1000 })).to.equal(
      'duplicate',
    );
    expect(freshness(row, { source: 'message', resourceVersion: 'opaque-b', sequence: 1001 })).to.equal(
      'apply',
    );
    expect(freshness(row, { source: 'resync', resourceVersion: 'opaque-b' })).to.equal('apply');
    expect(freshness(row, { source: 'resync', resourceVersion: 'opaque-a' })).to.equal('duplicate');
  });

  it('always applies a deletion', function () {
    expect(
      freshness(
        { statusSequence: 10, resourceVersion: '200' },
        { source: 'message', resourceVersion: '1', sequence: 1, deleted: true },
      ),
    ).to.equal('apply');
  });

  it('keeps a requested delete whatever the operator says meanwhile, and hides a terminating resource', function () {
    expect(nextPhase('Deleting', { phase: 'Ready' })).to.equal('Deleting');
    expect(nextPhase('Processing', { phase: 'Ready' })).to.equal('Ready');
    expect(nextPhase(undefined, { phase: 'Pending' })).to.equal('Pending');
    expect(nextPhase('Ready', { phase: 'Ready', terminating: true })).to.equal('Deleting');
  });

  it('takes the error only from a Failed status', function () {
    expect(
      rowFields(updateFromMessage(message({ phase: 'Failed', message: 'no video stream' }))).error,
    ).to.equal('no video stream');
    expect(
      rowFields(updateFromMessage(message({ phase: 'Processing', message: 'transcoding' }))).error,
    ).to.equal(null);
  });
});

describe('api catalog: reading messages and resources', function () {
  it('validates a status message and refuses what is not one', function () {
    expect(statusMessageSchema.safeParse(message()).success).to.equal(true);
    expect(statusMessageSchema.safeParse({ ...message(), phase: 'Done' }).success).to.equal(false);
    expect(statusMessageSchema.safeParse({ ...message(), uid: undefined }).success).to.equal(false);
    expect(
      statusMessageSchema.safeParse({ ...message(), renditions: [{ name: '4k', phase: 'Running' }] }).success,
    ).to.equal(false);
    expect(statusMessageSchema.safeParse('hello').success).to.equal(false);
  });

  it('turns a message into an update carrying sequence, catalog id and deletion', function () {
    const u = updateFromMessage(message({ deleted: true, masterPlaylistKey: 'k/master.m3u8' }));
    expect(u).to.include({
      source: 'message',
      uid: message().uid,
      catalogId: 4,
      sequence: message().sequence,
      deleted: true,
      masterPlaylistKey: 'k/master.m3u8',
    });
  });

  it('reads the catalog id annotation strictly', function () {
    const v = (a?: string) => ({
      metadata: {
        annotations: (a === undefined ? {} : { 'media.videoflix.io/catalog-id': a }) as Record<
          string,
          string
        >,
      },
    });
    expect(catalogIdOf(v('12'))).to.equal(12);
    expect(catalogIdOf(v('0'))).to.equal(undefined);
    expect(catalogIdOf(v('12abc'))).to.equal(undefined);
    expect(catalogIdOf(v('-3'))).to.equal(undefined);
    expect(catalogIdOf(v())).to.equal(undefined);
  });

  it('reads a resource: no status yet is Pending; a deletionTimestamp marks it terminating', function () {
    const video: Video = {
      apiVersion: 'media.videoflix.io/v1beta1',
      kind: 'Video',
      metadata: {
        name: 'v',
        namespace: 'videos',
        uid: 'u-1',
        resourceVersion: '77',
        annotations: { 'media.videoflix.io/catalog-id': '3' },
      },
      spec: { title: 'T', source: { bucket: 'b', key: 'k' } },
    };
    expect(updateFromResource(video)).to.deep.include({
      source: 'resync',
      phase: 'Pending',
      catalogId: 3,
      resourceVersion: '77',
      description: '',
      category: '',
    });
    const ready = updateFromResource({
      ...video,
      metadata: { ...video.metadata, deletionTimestamp: '2026-11-26T08:00:00Z' },
      status: {
        phase: 'Ready',
        masterPlaylistKey: 'u-1/master.m3u8',
        thumbnailKey: 'u-1/thumbnail.jpg',
        source: { durationSeconds: 4 },
      },
    });
    expect(ready).to.deep.include({
      phase: 'Ready',
      terminating: true,
      masterPlaylistKey: 'u-1/master.m3u8',
      durationSeconds: 4,
    });
  });
});

describe("api catalog: projectStatusMessage (the consumer's one parse + projection)", function () {
  it("turns a status message into the update the store applies, with the schema's defaults", function () {
    const { description: _d, category: _c, renditions: _r, ...bare } = message();
    const u = projectStatusMessage(JSON.parse(JSON.stringify(bare)));
    expect(u).to.deep.include({
      source: 'message',
      namespace: 'videos',
      uid: '7d7e1c0a-0000-4000-8000-000000000001',
      catalogId: 4,
      phase: 'Processing',
      description: '',
      category: '',
      renditions: [],
      resourceVersion: '120',
      sequence: 1_790_000_000_000,
    });
    expect(projectStatusMessage(message())).to.deep.equal(updateFromMessage(message()));
  });

  it('throws, naming each field that is wrong, for anything that is not a status message', function () {
    expect(() => projectStatusMessage({ ...message(), phase: 'Done', uid: 7 })).to.throw(
      /phase: .*; uid: |uid: .*; phase: /,
    );
    expect(() => projectStatusMessage('hello')).to.throw(Error);
    expect(() => projectStatusMessage(null)).to.throw(Error);
  });
});
