import { expect } from 'chai';
import { EXIT_CODES } from '../../../common/video/index.js';
import {
  badInput,
  storageError,
  terminationLine,
  toTranscoderError,
  usageError,
} from '../../../transcoder-image/errors.js';
import { contentTypeFor } from '../../../transcoder-image/storage.js';
import { thumbnailTime } from '../../../transcoder-image/tasks/thumbnail.js';

describe('transcoder failures', () => {
  it('maps each kind to the contract exit code', () => {
    expect(badInput('no video stream in source').exitCode).to.equal(EXIT_CODES.badInput).and.equal(2);
    expect(storageError('AccessDenied').exitCode).to.equal(EXIT_CODES.storage).and.equal(3);
    expect(storageError('AccessDenied').message).to.equal('storage error: AccessDenied');
    expect(usageError('usage').exitCode).to.equal(EXIT_CODES.usage);
    expect(toTranscoderError(new Error('boom')).exitCode).to.equal(EXIT_CODES.internal);
    expect(toTranscoderError(new Error('boom')).message).to.equal('internal error: boom');
    const e = badInput('x');
    expect(toTranscoderError(e)).to.equal(e);
  });

  it('writes one line, without presigned signatures, bounded in length', () => {
    const line = terminationLine(
      'source unreadable:\n  http://s3:7070/src/a.mp4?X-Amz-Credential=AK%2F&X-Amz-Signature=deadbeef: Invalid data',
    );
    expect(line).to.equal('source unreadable: http://s3:7070/src/a.mp4?[redacted]: Invalid data');
    expect(line).not.to.include('deadbeef');
    const long = terminationLine('x'.repeat(5000));
    expect(long.length).to.equal(1024);
    expect(long.endsWith('…')).to.equal(true);
  });
});

describe('transcoder content types', () => {
  it('serves playlists, segments, images and JSON with their HLS content types', () => {
    expect(contentTypeFor('index.m3u8')).to.equal('application/vnd.apple.mpegurl');
    expect(contentTypeFor('segment_000.ts')).to.equal('video/MP2T');
    expect(contentTypeFor('thumbnail.jpg')).to.equal('image/jpeg');
    expect(contentTypeFor('rendition.json')).to.equal('application/json');
    expect(contentTypeFor('x.bin')).to.equal('application/octet-stream');
  });
});

describe('transcoder thumbnail time', () => {
  it('defaults to 10% of the duration', () => {
    expect(thumbnailTime(undefined, 8)).to.equal(0.8);
    expect(thumbnailTime(undefined, 3600)).to.equal(360);
  });

  it('clamps a requested time into the video', () => {
    expect(thumbnailTime(3, 8)).to.equal(3);
    expect(thumbnailTime(100, 8)).to.equal(7.5);
    expect(thumbnailTime(5, 0.6)).to.equal(0.3);
    expect(thumbnailTime(0, 8)).to.equal(0);
  });

  it('uses the request (or 0) when the duration is unknown', () => {
    expect(thumbnailTime(undefined, 0)).to.equal(0);
    expect(thumbnailTime(4, 0)).to.equal(4);
  });
});
