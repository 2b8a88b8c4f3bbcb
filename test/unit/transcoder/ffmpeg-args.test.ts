import { expect } from 'chai';
import {
  AUDIO_PIECE_OFFSET_SECONDS,
  audioPieceInputOptions,
  audioPiecesOutputOptions,
  chunkSourceInputOptions,
  TIMESTAMP_OFFSET_SECONDS,
  classifyStderr,
  forceKeyFramesExpr,
  gopFrames,
  hlsOutputOptions,
  networkInputOptions,
  probeInputOptions,
  protocolWhitelist,
  progressPercent,
  SOURCE_DEMUXERS,
  normalizeProbe,
  parseRational,
  pickAudioStream,
  pickVideoStream,
  scaleToFit,
  stderrSummary,
  thumbnailInputOptions,
  thumbnailOutputOptions,
} from '../../../transcoder-image/ffmpeg/args.js';
import type { EncodeHlsOptions } from '../../../transcoder-image/ffmpeg/types.js';

const box720 = { width: 1280, height: 720 };
const box480 = { width: 854, height: 480 };

describe('transcoder ffmpeg arguments', () => {
  describe('scale to fit the rung', () => {
    it('maps 16:9 sources onto the rung sizes exactly', () => {
      expect(scaleToFit({ width: 1920, height: 1080 }, box720)).to.deep.equal({ width: 1280, height: 720 });
      expect(scaleToFit({ width: 1920, height: 1080 }, box480)).to.deep.equal({ width: 854, height: 480 });
      expect(scaleToFit({ width: 3840, height: 2160 }, { width: 1920, height: 1080 })).to.deep.equal({
        width: 1920,
        height: 1080,
      });
    });

    it('keeps the aspect ratio: height-bound 4:3, width-bound 2.39:1, portrait', () => {
      expect(scaleToFit({ width: 1440, height: 1080 }, box720)).to.deep.equal({ width: 960, height: 720 });
      // 1920×804 into 1280×720: width-bound, 804 × 2/3 = 536
      expect(scaleToFit({ width: 1920, height: 804 }, box720)).to.deep.equal({ width: 1280, height: 536 });
      // 1080×1920 into 1280×720: 1080 × 0.375 = 405 → 406 (even)
      expect(scaleToFit({ width: 1080, height: 1920 }, box720)).to.deep.equal({ width: 406, height: 720 });
    });

    it('always gives even sides within the box', () => {
      for (const [w, h] of [
        [1917, 1079],
        [1001, 999],
        [853, 481],
        [3, 3],
        [1280, 719],
      ] as const) {
        for (const box of [box720, box480, { width: 1920, height: 1080 }]) {
          const out = scaleToFit({ width: w, height: h }, box);
          expect(out.width % 2, `${w}x${h}→${out.width}`).to.equal(0);
          expect(out.height % 2, `${w}x${h}→${out.height}`).to.equal(0);
          expect(out.width).to.be.within(2, box.width);
          expect(out.height).to.be.within(2, box.height);
          // aspect ratio within one rounding step (2 px) of the source
          expect(Math.abs(out.width / out.height - w / h) * out.height).to.be.below(2.5);
        }
      }
    });

    it('never upscales a smaller source (unless asked)', () => {
      expect(scaleToFit({ width: 640, height: 360 }, box720)).to.deep.equal({ width: 640, height: 360 });
      expect(scaleToFit({ width: 641, height: 361 }, box720)).to.deep.equal({ width: 642, height: 362 });
      expect(scaleToFit({ width: 640, height: 360 }, box720, { allowUpscale: true })).to.deep.equal(box720);
    });

    it('uses the display size: sample aspect ratio and 90° rotation', () => {
      // PAL DVD 16:9: 720×576 with SAR 64:45 is displayed 1024×576
      expect(scaleToFit({ width: 720, height: 576, sampleAspectRatio: [64, 45] }, box720)).to.deep.equal({
        width: 1024,
        height: 576,
      });
      // a phone video stored 1920×1080 and rotated −90° is displayed 1080×1920
      expect(scaleToFit({ width: 1920, height: 1080, rotation: -90 }, box720)).to.deep.equal({
        width: 406,
        height: 720,
      });
      expect(scaleToFit({ width: 1920, height: 1080, rotation: 270 }, box720)).to.deep.equal({
        width: 406,
        height: 720,
      });
      expect(scaleToFit({ width: 1920, height: 1080, rotation: 180 }, box720)).to.deep.equal(box720);
    });

    it('refuses a source without a size', () => {
      expect(() => scaleToFit({ width: 0, height: 1080 }, box720)).to.throw(RangeError);
    });
  });

  describe('HLS encode options', () => {
    const opts: EncodeHlsOptions = {
      input: 'http://s3/src',
      outputDir: '/work/out',
      videoStreamIndex: 0,
      audioStreamIndex: 1,
      width: 1280,
      height: 720,
      frameRate: 30,
      videoKbps: 2800,
      maxrateKbps: 2996,
      bufsizeKbps: 4200,
      audioKbps: 128,
      preset: 'veryfast',
      profile: 'high',
      segmentSeconds: 6,
      gopSeconds: 2,
    };
    const valueOf = (args: string[], flag: string) => {
      const i = args.indexOf(flag);
      expect(i, `${flag} missing`).to.be.greaterThan(-1);
      return args[i + 1];
    };

    it('has a fixed 2 s GOP, no scene cuts, and key frames forced at segment boundaries', () => {
      const a = hlsOutputOptions(opts);
      expect(valueOf(a, '-g')).to.equal('60');
      expect(valueOf(a, '-keyint_min')).to.equal('60');
      expect(valueOf(a, '-sc_threshold')).to.equal('0');
      expect(valueOf(a, '-force_key_frames')).to.equal('expr:gte(t,n_forced*6)');
      expect(gopFrames(29.97, 2)).to.equal(60);
      expect(gopFrames(25, 2)).to.equal(50);
      expect(gopFrames(0.2, 2)).to.equal(1);
      expect(forceKeyFramesExpr(4)).to.equal('expr:gte(t,n_forced*4)');
    });

    it('encodes H.264 High with the rung bitrate, maxrate and bufsize, and AAC stereo', () => {
      const a = hlsOutputOptions(opts);
      expect(valueOf(a, '-c:v')).to.equal('libx264');
      expect(valueOf(a, '-profile:v')).to.equal('high');
      expect(valueOf(a, '-preset')).to.equal('veryfast');
      expect(valueOf(a, '-b:v')).to.equal('2800k');
      expect(valueOf(a, '-maxrate')).to.equal('2996k');
      expect(valueOf(a, '-bufsize')).to.equal('4200k');
      expect(valueOf(a, '-vf')).to.equal('scale=1280:720:flags=bicubic,setsar=1,format=yuv420p');
      expect(valueOf(a, '-c:a')).to.equal('aac');
      expect(valueOf(a, '-b:a')).to.equal('128k');
      expect(valueOf(a, '-ac')).to.equal('2');
      expect(a.filter((x) => x === '-map')).to.have.length(2);
      expect(a).to.include.members(['0:0', '0:1']);
    });

    it('writes a VOD playlist with segment_NNN.ts segments of the configured length', () => {
      const a = hlsOutputOptions({ ...opts, segmentSeconds: 4 });
      expect(valueOf(a, '-f')).to.equal('hls');
      expect(valueOf(a, '-hls_time')).to.equal('4');
      expect(valueOf(a, '-hls_playlist_type')).to.equal('vod');
      expect(valueOf(a, '-hls_segment_filename')).to.equal('/work/out/segment_%03d.ts');
      // segments appear under their name only when complete: the shipper uploads them while encoding
      expect(valueOf(a, '-hls_flags')!.split('+')).to.include.members(['independent_segments', 'temp_file']);
    });

    it('puts every encode on one timeline: nothing shifted, one constant offset', () => {
      const a = hlsOutputOptions(opts);
      expect(valueOf(a, '-avoid_negative_ts')).to.equal('disabled');
      expect(valueOf(a, '-output_ts_offset')).to.equal(TIMESTAMP_OFFSET_SECONDS.toFixed(6));
      expect(a).not.to.include('-start_number');
    });

    it('a chunk: its video slice, its audio piece copied, numbered from k·L/segment, on the same timeline', () => {
      const chunk = {
        startSeconds: 36,
        durationSeconds: 12,
        startNumber: 6,
        audioPiece: '/work/audio.nut',
        sourceStartTime: 0.5,
      };
      expect(chunkSourceInputOptions(chunk)).to.deep.equal([
        '-copyts',
        '-ss',
        '36.000000',
        '-t',
        '12.000000',
      ]);
      expect(chunkSourceInputOptions({ ...chunk, durationSeconds: undefined })).to.deep.equal([
        '-copyts',
        '-ss',
        '36.000000',
      ]);
      expect(audioPieceInputOptions(chunk)).to.deep.equal([
        '-protocol_whitelist',
        'file',
        '-format_whitelist',
        'nut',
        '-itsoffset',
        (0.5 - AUDIO_PIECE_OFFSET_SECONDS).toFixed(6),
      ]);
      const a = hlsOutputOptions({ ...opts, chunk });
      expect(valueOf(a, '-output_ts_offset')).to.equal((TIMESTAMP_OFFSET_SECONDS - 0.5).toFixed(6));
      expect(valueOf(a, '-start_number')).to.equal('6');
      expect(valueOf(a, '-c:a')).to.equal('copy');
      expect(a).to.include.members(['0:0', '1:0']);
      expect(a).not.to.include('0:1');
      expect(valueOf(a, '-force_key_frames')).to.equal('expr:gte(t,n_forced*6)');
      const silent = hlsOutputOptions({ ...opts, chunk: { ...chunk, audioPiece: undefined } });
      expect(silent).to.include('-an');
    });

    it('the audio pieces: encoded as the renditions encode audio, cut at every chunk boundary into NUT', () => {
      const a = audioPiecesOutputOptions({
        input: 'http://s3/src',
        outputDir: '/work/a',
        audioStreamIndex: 1,
        audioKbps: 128,
        chunkSeconds: 30,
        count: 4,
      });
      expect(valueOf(a, '-map')).to.equal('0:1');
      expect(valueOf(a, '-c:a')).to.equal('aac');
      expect(valueOf(a, '-b:a')).to.equal('128k');
      expect(valueOf(a, '-ar')).to.equal('48000');
      expect(valueOf(a, '-f')).to.equal('segment');
      expect(valueOf(a, '-segment_format')).to.equal('nut');
      expect(valueOf(a, '-reset_timestamps')).to.equal('0');
      expect(valueOf(a, '-output_ts_offset')).to.equal('10.000000');
      expect(valueOf(a, '-segment_times')).to.equal('40.000000,70.000000,100.000000');
    });

    it('passes -threads only when a thread count is given', () => {
      expect(hlsOutputOptions(opts)).not.to.include('-threads');
      expect(valueOf(hlsOutputOptions({ ...opts, threads: 3 }), '-threads')).to.equal('3');
    });

    it('drops audio when the source has none', () => {
      const a = hlsOutputOptions({ ...opts, audioStreamIndex: undefined });
      expect(a).to.include('-an');
      expect(a).not.to.include('-c:a');
      expect(a.filter((x) => x === '-map')).to.have.length(1);
    });

    it('reads a presigned URL with a stall timeout and reconnects; a local file without', () => {
      const net = networkInputOptions('http://127.0.0.1:7070/src/a?X-Amz-Signature=1');
      expect(valueOf(net, '-rw_timeout')).to.equal('30000000');
      expect(valueOf(net, '-reconnect')).to.equal('1');
      expect(net).not.to.include('-reconnect_on_http_error');
      expect(networkInputOptions('/tmp/segment_000.ts')).not.to.include('-rw_timeout');
      expect(valueOf(probeInputOptions('https://s3/x'), '-rw_timeout')).to.equal('30000000');
      expect(probeInputOptions('/tmp/segment_000.ts')).not.to.include('-rw_timeout');
    });

    describe('input whitelists (a crafted source reaches no other protocol or demuxer)', () => {
      const inputs = {
        https: 'https://s3.example.com/src/a?X-Amz-Signature=1',
        http: 'http://127.0.0.1:7070/src/a?X-Amz-Signature=1',
        file: '/tmp/segment_000.ts',
      };
      it("allows only the input's own protocol", () => {
        expect(protocolWhitelist(inputs.https)).to.equal('https,tls,tcp');
        expect(protocolWhitelist(inputs.http)).to.equal('http,tcp');
        expect(protocolWhitelist(inputs.file)).to.equal('file');
        for (const w of [inputs.https, inputs.http, inputs.file].map(protocolWhitelist)) {
          for (const p of ['concat', 'subfile', 'data', 'crypto', 'pipe', 'ftp', 'gopher', 'rtmp'])
            expect(w.split(','), w).not.to.include(p);
        }
        expect(protocolWhitelist(inputs.https).split(',')).not.to.include('file');
        expect(protocolWhitelist(inputs.http).split(',')).not.to.include('file');
      });
      it('refuses an input that is not an http(s) URL or a local path', () => {
        for (const bad of [
          'concat:/etc/passwd|/tmp/x',
          'file:///etc/passwd',
          'subfile,,start,0,end,10,,:/etc/passwd',
          'data:,x',
          'ftp://h/x',
        ])
          expect(() => protocolWhitelist(bad), bad).to.throw(/only http\(s\) URLs and local paths/);
      });
      it('reads with the demuxers of the containers the API accepts, no playlist or indirection format', () => {
        const formats = SOURCE_DEMUXERS.split(',');
        expect(formats).to.include.members([
          'mov',
          'mp4',
          'matroska',
          'webm',
          'avi',
          'mpegts',
          'mpeg',
          'flv',
          'asf',
          'ogg',
        ]);
        for (const f of [
          'hls',
          'applehttp',
          'concat',
          'ffconcat',
          'image2',
          'tee',
          'data',
          'lavfi',
          'dash',
          'sdp',
          'rtsp',
        ])
          expect(formats, f).not.to.include(f);
      });
      it('puts both whitelists before every input: encode, thumbnail and probe', () => {
        for (const input of Object.values(inputs)) {
          for (const args of [
            networkInputOptions(input),
            probeInputOptions(input),
            thumbnailInputOptions({
              input,
              output: 'y.jpg',
              atSeconds: 1,
              videoStreamIndex: 0,
              width: 2,
              height: 2,
            }),
          ]) {
            expect(valueOf(args, '-protocol_whitelist'), input).to.equal(protocolWhitelist(input));
            expect(valueOf(args, '-format_whitelist'), input).to.equal(SOURCE_DEMUXERS);
          }
        }
      });
      it('classifies a refused source as bad input (never retried)', () => {
        expect(
          classifyStderr("[hls @ 0x1] Format not on whitelist 'mov,mp4'\nhttp://x: Invalid argument"),
        ).to.equal('invalidInput');
        expect(classifyStderr("[hls @ 0x1] Protocol 'file' not on whitelist 'http,tcp'!")).to.equal(
          'invalidInput',
        );
      });
    });

    it('thumbnail: one JPEG frame of the chosen stream at the given size', () => {
      const a = thumbnailOutputOptions({
        input: 'x',
        output: 'y.jpg',
        atSeconds: 1,
        videoStreamIndex: 2,
        width: 640,
        height: 360,
      });
      expect(valueOf(a, '-map')).to.equal('0:2');
      expect(valueOf(a, '-frames:v')).to.equal('1');
      expect(valueOf(a, '-c:v')).to.equal('mjpeg');
      expect(valueOf(a, '-vf')).to.match(/^scale=640:360/);
    });
  });

  describe('probe data', () => {
    it('parses rationals', () => {
      expect(parseRational('30/1')).to.equal(30);
      expect(parseRational('30000/1001')).to.be.closeTo(29.97, 0.001);
      expect(parseRational('0/0')).to.equal(undefined);
      expect(parseRational('N/A')).to.equal(undefined);
      expect(parseRational(25)).to.equal(25);
    });

    it('normalises ffprobe output as fluent-ffmpeg hands it over', () => {
      const info = normalizeProbe({
        format: {
          format_name: 'mov,mp4,m4a,3gp,3g2,mj2',
          duration: 8,
          start_time: 0,
          size: 1000,
          bit_rate: 'N/A',
        },
        streams: [
          {
            index: 0,
            codec_type: 'video',
            codec_name: 'mjpeg',
            width: 300,
            height: 300,
            disposition: { attached_pic: 1 },
            r_frame_rate: '90000/1',
            avg_frame_rate: '0/0',
          },
          {
            index: 1,
            codec_type: 'video',
            codec_name: 'h264',
            profile: 'High',
            level: 40,
            width: 1920,
            height: 1080,
            sample_aspect_ratio: '1:1',
            r_frame_rate: '30000/1001',
            avg_frame_rate: '30000/1001',
            start_time: 1.4,
            duration: 'N/A',
            rotation: '-90',
            disposition: { attached_pic: 0 },
          },
          {
            index: 2,
            codec_type: 'audio',
            codec_name: 'aac',
            profile: 'LC',
            channels: 2,
            sample_rate: '48000',
          },
        ],
      });
      expect(info.formatName).to.equal('mov,mp4,m4a,3gp,3g2,mj2');
      expect(info.duration).to.equal(8);
      expect(info.bitRate).to.equal(undefined);
      const v = pickVideoStream(info)!;
      expect(v.index).to.equal(1);
      expect(v).to.include({
        codecName: 'h264',
        profile: 'High',
        level: 40,
        width: 1920,
        height: 1080,
        rotation: -90,
      });
      expect(v.frameRate).to.be.closeTo(29.97, 0.001);
      expect(v.duration).to.equal(undefined);
      expect(info.streams[0]!.frameRate).to.equal(undefined);
      expect(pickAudioStream(info)).to.include({
        index: 2,
        codecName: 'aac',
        channels: 2,
        sampleRate: 48000,
      });
    });

    it('finds no video in text-art "video" (random bytes named *.bin) or audio-only files', () => {
      const art = normalizeProbe({
        format: { format_name: 'bin' },
        streams: [{ index: 0, codec_type: 'video', codec_name: 'bintext', width: 1280, height: 10000 }],
      });
      expect(pickVideoStream(art)).to.equal(undefined);
      const mp3 = normalizeProbe({
        streams: [{ index: 0, codec_type: 'audio', codec_name: 'mp3', channels: 2 }],
      });
      expect(pickVideoStream(mp3)).to.equal(undefined);
      expect(pickAudioStream(mp3)?.codecName).to.equal('mp3');
    });
  });

  describe('stderr', () => {
    const url = 'http://127.0.0.1:7070/src/42/source?X-Amz-Signature=abc';
    it('reads progress from the time= of a stats line and the known duration (no second ffprobe)', () => {
      const line = 'frame=  450 fps= 30 q=28.0 size=N/A time=00:00:15.00 bitrate=N/A speed=1.0x';
      expect(progressPercent(line, 30)).to.equal(50);
      expect(progressPercent('frame=1 time=01:00:00.00 speed=1x', 1800)).to.equal(100);
      expect(progressPercent(line, undefined)).to.equal(undefined);
      expect(progressPercent(line, 0)).to.equal(undefined);
      expect(progressPercent('Stream #0:0: Video: h264', 30)).to.equal(undefined);
    });

    it('tells bad input from network trouble from the rest', () => {
      expect(classifyStderr(`${url}: Invalid data found when processing input\n`)).to.equal('invalidInput');
      expect(classifyStderr('[mov,mp4] moov atom not found\n')).to.equal('invalidInput');
      expect(
        classifyStderr(
          `[http @ 0x5] HTTP error 403 Forbidden\n${url}: Server returned 403 Forbidden (access denied)`,
        ),
      ).to.equal('io');
      expect(classifyStderr(`${url}: Connection refused`)).to.equal('io');
      expect(classifyStderr('Unknown encoder libx265')).to.equal('failed');
    });

    it('summarises with the telling line, without the presigned URL', () => {
      const s = stderrSummary(
        `ffmpeg version 5.1\nsome banner\n${url}: Invalid data found when processing input\n`,
      );
      expect(s).to.equal('Invalid data found when processing input');
      expect(stderrSummary('a\nlast line\n\n')).to.equal('last line');
    });
  });
});
