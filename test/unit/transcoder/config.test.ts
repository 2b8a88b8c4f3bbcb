import { expect } from 'chai';
import { chunkArgs, DEFAULT_CHUNKING, EXIT_CODES } from '../../../common/video/index.js';
import { loadJobConfig, parseArgs, terminationMessagePath } from '../../../transcoder-image/config.js';
import { TranscoderError } from '../../../transcoder-image/errors.js';

const base = {
  VIDEO_ID: '3f1c2a9e-7d7b-4f0e-9a51-0c7f5e1d2b44',
  SOURCE_BUCKET: 'videoflix-sources',
  SOURCE_KEY: '42/source.mp4',
  MEDIA_BUCKET: 'videoflix-media',
  S3_ENDPOINT: 'http://s3.example:7070',
  S3_ACCESS_KEY: 'ak',
  S3_SECRET_KEY: 'sk',
};

function usage(fn: () => unknown): TranscoderError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(TranscoderError);
    expect((err as TranscoderError).exitCode).to.equal(EXIT_CODES.usage);
    return err as TranscoderError;
  }
  expect.fail('expected a usage error');
}

describe('transcoder arguments', () => {
  it('parses the two tasks of the contract', () => {
    expect(parseArgs(['thumbnail'])).to.deep.equal({ task: 'thumbnail' });
    expect(parseArgs(['rendition', '480p'])).to.deep.equal({ task: 'rendition', rendition: '480p' });
    expect(parseArgs(['rendition', '1080p'])).to.deep.equal({ task: 'rendition', rendition: '1080p' });
  });

  it('refuses anything else with exit code 64 and the usage', () => {
    expect(usage(() => parseArgs([])).message).to.match(/^usage: /);
    expect(usage(() => parseArgs(['transcode'])).message).to.match(/unknown task "transcode"/);
    expect(usage(() => parseArgs(['rendition'])).message).to.match(/needs a name/);
    expect(usage(() => parseArgs(['rendition', '4k'])).message).to.match(/unknown rendition "4k"/);
    expect(usage(() => parseArgs(['rendition', '720p', 'extra'])).message).to.match(/unexpected/);
    expect(usage(() => parseArgs(['thumbnail', '720p'])).message).to.match(/no arguments/);
    expect(usage(() => parseArgs(['chunk'])).message).to.match(/chunk needs a name/);
    expect(usage(() => parseArgs(['stitch', '4k'])).message).to.match(/unknown rendition "4k"/);
  });

  it('parses the chunked tasks as the contract builds them', () => {
    expect(parseArgs(chunkArgs('chunk', '720p'))).to.deep.equal({ task: 'chunk', rendition: '720p' });
    expect(parseArgs(chunkArgs('stitch', '480p'))).to.deep.equal({ task: 'stitch', rendition: '480p' });
  });
});

describe('transcoder environment: chunking', () => {
  it('no CHUNK_THRESHOLD_SECONDS: no chunking, L defaults to 30 s', () => {
    const c = loadJobConfig(base);
    expect(c.chunking).to.equal(undefined);
    expect(c.chunkSeconds).to.equal(DEFAULT_CHUNKING.chunkSeconds);
    expect(c.chunkCount).to.equal(undefined);
    expect(c.chunkIndex).to.equal(undefined);
  });

  it('reads the threshold, L, the count and the Indexed Job index', () => {
    const c = loadJobConfig({
      ...base,
      CHUNK_THRESHOLD_SECONDS: '120',
      CHUNK_SECONDS: '36',
      CHUNK_COUNT: '7',
      JOB_COMPLETION_INDEX: '0',
    });
    expect(c.chunking).to.deep.equal({ thresholdSeconds: 120, chunkSeconds: 36 });
    expect([c.chunkCount, c.chunkIndex]).to.deep.equal([7, 0]);
    expect(loadJobConfig({ ...base, CHUNK_THRESHOLD_SECONDS: '0' }).chunking?.thresholdSeconds).to.equal(0);
  });

  it('refuses a bad value as a usage error', () => {
    expect(usage(() => loadJobConfig({ ...base, CHUNK_SECONDS: '0' })).message).to.match(/CHUNK_SECONDS/);
    expect(usage(() => loadJobConfig({ ...base, CHUNK_COUNT: '0' })).message).to.match(/CHUNK_COUNT/);
    expect(usage(() => loadJobConfig({ ...base, JOB_COMPLETION_INDEX: '-1' })).message).to.match(
      /JOB_COMPLETION_INDEX/,
    );
  });
});

describe('transcoder environment', () => {
  it('reads the contract variables and the storage settings', () => {
    const c = loadJobConfig({
      ...base,
      THUMBNAIL_TIME: '12.5',
      TERMINATION_MESSAGE_PATH: '/tmp/t',
      WORK_DIR: '/scratch',
    });
    expect(c).to.include({
      videoId: base.VIDEO_ID,
      sourceBucket: 'videoflix-sources',
      sourceKey: '42/source.mp4',
      mediaBucket: 'videoflix-media',
      thumbnailTime: 12.5,
      terminationMessagePath: '/tmp/t',
      workDir: '/scratch',
    });
    expect(c.storage).to.deep.equal({
      S3_ENDPOINT: 'http://s3.example:7070',
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY: 'ak',
      S3_SECRET_KEY: 'sk',
    });
    expect(c.ladder.segmentSeconds).to.equal(6);
  });

  it('applies defaults: termination path, buckets from the shared storage settings, no thumbnail time', () => {
    const { SOURCE_BUCKET: _s, MEDIA_BUCKET: _m, ...rest } = base;
    const c = loadJobConfig({ ...rest, S3_SOURCE_BUCKET: 'src-b', THUMBNAIL_TIME: '' });
    expect(c.terminationMessagePath).to.equal('/dev/termination-log');
    expect(c.sourceBucket).to.equal('src-b');
    expect(c.mediaBucket).to.equal('videoflix-media');
    expect(c.thumbnailTime).to.equal(undefined);
    expect(terminationMessagePath({})).to.equal('/dev/termination-log');
    expect(terminationMessagePath({ TERMINATION_MESSAGE_PATH: '/x/y' })).to.equal('/x/y');
  });

  it('takes FFMPEG_THREADS when set (0 or empty: automatic)', () => {
    expect(loadJobConfig({ ...base, FFMPEG_THREADS: '4' }).ffmpegThreads).to.equal(4);
    expect(loadJobConfig({ ...base, FFMPEG_THREADS: '0' }).ffmpegThreads).to.equal(undefined);
    expect(loadJobConfig({ ...base, FFMPEG_THREADS: '' }).ffmpegThreads).to.equal(undefined);
    expect(loadJobConfig(base).ffmpegThreads).to.equal(undefined);
    expect(usage(() => loadJobConfig({ ...base, FFMPEG_THREADS: 'many' })).message).to.match(
      /FFMPEG_THREADS/,
    );
  });

  it('SKIP_TALLER_THAN_SOURCE: off unless 1 or true', () => {
    expect(loadJobConfig(base).skipTallerThanSource).to.equal(false);
    expect(loadJobConfig({ ...base, SKIP_TALLER_THAN_SOURCE: '1' }).skipTallerThanSource).to.equal(true);
    expect(loadJobConfig({ ...base, SKIP_TALLER_THAN_SOURCE: 'true' }).skipTallerThanSource).to.equal(true);
    expect(loadJobConfig({ ...base, SKIP_TALLER_THAN_SOURCE: '0' }).skipTallerThanSource).to.equal(false);
    expect(usage(() => loadJobConfig({ ...base, SKIP_TALLER_THAN_SOURCE: 'yes' })).message).to.match(
      /SKIP_TALLER_THAN_SOURCE/,
    );
  });

  it('passes SEGMENT_SECONDS and LADDER_JSON to the ladder', () => {
    const c = loadJobConfig({ ...base, SEGMENT_SECONDS: '4', LADDER_JSON: '{"preset":"faster"}' });
    expect(c.ladder).to.include({ segmentSeconds: 4, preset: 'faster' });
  });

  it('names every missing or bad variable in one usage error', () => {
    const e = usage(() => loadJobConfig({ S3_ACCESS_KEY: 'ak' }));
    expect(e.message)
      .to.match(/VIDEO_ID/)
      .and.match(/SOURCE_KEY/);
    expect(usage(() => loadJobConfig({ ...base, S3_SECRET_KEY: undefined })).message).to.match(
      /S3_SECRET_KEY/,
    );
    expect(usage(() => loadJobConfig({ ...base, VIDEO_ID: '../other' })).message).to.match(/VIDEO_ID/);
    expect(usage(() => loadJobConfig({ ...base, THUMBNAIL_TIME: '-3' })).message).to.match(/THUMBNAIL_TIME/);
    expect(usage(() => loadJobConfig({ ...base, THUMBNAIL_TIME: 'soon' })).message).to.match(
      /THUMBNAIL_TIME/,
    );
    expect(usage(() => loadJobConfig({ ...base, S3_ENDPOINT: 'not a url' })).message).to.match(/S3_ENDPOINT/);
    expect(usage(() => loadJobConfig({ ...base, LADDER_JSON: '{"preset":1}' })).message).to.match(
      /invalid ladder.*preset/,
    );
  });
});
