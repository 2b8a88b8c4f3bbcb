/** ffprobe reads clips that ffmpeg generated at run time, and rejects bytes that are no media. */
import { expect } from 'chai';
import { createMediaDir, probe, type MediaDir } from '../../support/media.js';

describe('foundation: ffmpeg-generated clips read by ffprobe', function () {
  let media: MediaDir;

  before(async function () {
    media = await createMediaDir();
  });

  after(async function () {
    await media?.cleanup();
  });

  it('probes a clip with video and audio', async function () {
    const file = await media.clip({ durationSec: 2, width: 640, height: 360, fps: 25, audio: true });
    const info = await probe(file);
    const video = info.streams.find((s) => s.codec_type === 'video');
    const audio = info.streams.find((s) => s.codec_type === 'audio');
    expect(video).to.include({
      codec_name: 'h264',
      width: 640,
      height: 360,
      r_frame_rate: '25/1',
      pix_fmt: 'yuv420p',
    });
    expect(audio).to.include({ codec_name: 'aac', sample_rate: '48000', channels: 2 });
    expect(Number(info.format.duration)).to.be.closeTo(2, 0.15);
  });

  it('probes a clip without audio', async function () {
    const file = await media.clip({ durationSec: 1, width: 320, height: 240, audio: false });
    const info = await probe(file);
    expect(info.streams.map((s) => s.codec_type)).to.deep.equal(['video']);
    expect(info.streams[0]).to.include({ width: 320, height: 240 });
    expect(Number(info.format.duration)).to.be.closeTo(1, 0.15);
  });

  it('refuses a file of random bytes', async function () {
    const file = await media.randomFile(32 * 1024);
    const err = await probe(file).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/Invalid data found when processing input/);
  });
});
