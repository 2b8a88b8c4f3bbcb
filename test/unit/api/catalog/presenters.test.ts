import { expect } from 'chai';
import { presentAdminVideo, presentVideo, thumbnailUrl } from '../../../../api/catalog/presenters.js';
import type { VideoRow } from '../../../../api/models/video.js';

const row = (over: Partial<VideoRow> = {}) =>
  ({
    id: 7,
    title: 'Example Video',
    description: 'Example description',
    category: 'Drama',
    phase: 'Ready',
    uid: 'u-7',
    namespace: 'videos',
    name: 'video-x',
    thumbnailKey: 'u-7/thumbnail.jpg',
    masterPlaylistKey: 'u-7/master.m3u8',
    renditions: [
      { name: '480p', phase: 'Succeeded', job: 'video-x-480p' },
      { name: '1080p', phase: 'Skipped', message: 'taller than the source' },
    ],
    error: null,
    durationSeconds: 4.2,
    sourceSize: '123456',
    createdAt: new Date('2026-05-06T14:00:00Z'),
    updatedAt: new Date('2026-05-06T14:05:00Z'),
    ...over,
  }) as unknown as VideoRow;

describe('api catalog: presenters', function () {
  it('gives users exactly the fields of the original, with an absolute thumbnail URL', function () {
    const item = presentVideo(row(), 'https://api.example.com/');
    expect(item).to.deep.equal({
      id: 7,
      created_at: '2026-05-06T14:00:00.000Z',
      title: 'Example Video',
      description: 'Example description',
      thumbnail_url: 'https://api.example.com/api/video/7/thumbnail.jpg',
      category: 'Drama',
    });
    expect(Object.keys(item)).to.deep.equal([
      'id',
      'created_at',
      'title',
      'description',
      'thumbnail_url',
      'category',
    ]);
  });

  it('appends the signature to the thumbnail URL when given a signer', function () {
    expect(presentVideo(row(), 'http://api', (id) => `exp=1&sig=s${id}`).thumbnail_url).to.equal(
      'http://api/api/video/7/thumbnail.jpg?exp=1&sig=s7',
    );
  });

  it('has no thumbnail URL without a thumbnail', function () {
    expect(thumbnailUrl('http://x', { id: 1, thumbnailKey: null })).to.equal(null);
  });

  it('gives admins phase, status word, per-rendition state, error and the resource', function () {
    const a = presentAdminVideo(row({ phase: 'Failed', error: 'no video stream' }), 'http://api');
    expect(a).to.deep.include({
      id: 7,
      status: 'failed',
      phase: 'Failed',
      error: 'no video stream',
      source_size: 123456,
      duration_seconds: 4.2,
    });
    expect(a.renditions).to.deep.equal([
      { name: '480p', phase: 'Succeeded' },
      { name: '1080p', phase: 'Skipped', message: 'taller than the source' },
    ]);
    expect(a.resource).to.deep.equal({ namespace: 'videos', name: 'video-x', uid: 'u-7' });
    expect(presentAdminVideo(row({ uid: null, phase: 'Uploading' }), 'http://api').resource).to.equal(null);
  });

  it("admins see a running rendition's progress with the seconds left; users' list is unchanged", function () {
    const r = row({
      phase: 'Processing',
      renditions: [
        { name: '480p', phase: 'Succeeded', progress: { percent: 99, updatedAt: '2026-05-06T14:04:00Z' } },
        {
          name: '720p',
          phase: 'Running',
          progress: {
            percent: 42.5,
            speed: 1.8,
            estimatedCompletionTime: '2026-05-06T14:06:30Z',
            updatedAt: '2026-05-06T14:05:58Z',
          },
        },
        { name: '1080p', phase: 'Running' },
      ],
    });
    const a = presentAdminVideo(r, 'http://api', undefined, new Date('2026-05-06T14:06:00Z'));
    expect(a.renditions).to.deep.equal([
      { name: '480p', phase: 'Succeeded' },
      {
        name: '720p',
        phase: 'Running',
        progress: {
          percent: 42.5,
          speed: 1.8,
          eta_seconds: 30,
          estimated_completion: '2026-05-06T14:06:30Z',
          updated_at: '2026-05-06T14:05:58Z',
        },
      },
      { name: '1080p', phase: 'Running' },
    ]);
    // past the estimate: 0 left, never negative
    const late = presentAdminVideo(r, 'http://api', undefined, new Date('2026-05-06T14:10:00Z'));
    expect(late.renditions[1]!.progress!.eta_seconds).to.equal(0);
    expect(Object.keys(presentVideo(r, 'http://api'))).to.deep.equal([
      'id',
      'created_at',
      'title',
      'description',
      'thumbnail_url',
      'category',
    ]);
  });
});
