/**
 * rendition.json: what the operator needs to write the master playlist, measured from the output
 * (not copied from the ladder): bandwidth from segment sizes and durations, CODECS from the
 * profile/level ffprobe reads in the produced stream, frame rate, segment start times.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import {
  MAX_TERMINATION_MESSAGE_BYTES,
  measureBandwidth,
  type RenditionMetadata,
  type RenditionName,
} from '../common/video/index.js';
export { measureBandwidth };
import { pickAudioStream, pickVideoStream, type MediaTool, type ProbedStream } from './ffmpeg/index.js';

export interface PlaylistSegment {
  uri: string;
  duration: number;
  /** The EXTINF value as written ("6.000000"). */
  extinf: string;
}

export interface MediaPlaylist {
  targetDuration: number;
  segments: PlaylistSegment[];
  endList: boolean;
  /** #EXT-X-VERSION, when present. */
  version?: number;
}

/** Parses the media playlist ffmpeg wrote (EXTINF + URI lines). */
export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== '#EXTM3U') throw new Error('not an HLS playlist (no #EXTM3U)');
  let targetDuration = 0;
  let pending: string | undefined;
  let endList = false;
  let version: number | undefined;
  const segments: PlaylistSegment[] = [];
  for (const line of lines) {
    if (line.startsWith('#EXT-X-TARGETDURATION:')) targetDuration = Number(line.slice(22));
    else if (line.startsWith('#EXT-X-VERSION:')) version = Number(line.slice(15));
    else if (line.startsWith('#EXTINF:')) pending = line.slice(8).split(',')[0]!;
    else if (line === '#EXT-X-ENDLIST') endList = true;
    else if (line && !line.startsWith('#')) {
      const duration = pending === undefined ? NaN : Number.parseFloat(pending);
      if (pending === undefined || !Number.isFinite(duration))
        throw new Error(`segment ${line} has no #EXTINF`);
      segments.push({ uri: line, duration, extinf: pending });
      pending = undefined;
    }
  }
  return { targetDuration, segments, endList, ...(version !== undefined ? { version } : {}) };
}

/**
 * profile_idc and constraint flags of H.264 profiles as ffprobe names them. The constraint byte is
 * the one libx264 writes (set0 for Baseline, set1 for Baseline/Main, none for High).
 */
const AVC_PROFILES: Record<string, [number, number]> = {
  'constrained baseline': [0x42, 0xc0],
  baseline: [0x42, 0xc0],
  main: [0x4d, 0x40],
  extended: [0x58, 0x00],
  high: [0x64, 0x00],
  'high 10': [0x6e, 0x00],
  'high 4:2:2': [0x7a, 0x00],
  'high 4:4:4 predictive': [0xf4, 0x00],
};

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/** RFC 6381 codec of an H.264 stream: avc1.PPCCLL (e.g. avc1.64001f for High 3.1). */
export function avcCodec(profile: string | undefined, level: number | undefined): string {
  const p = AVC_PROFILES[(profile ?? '').toLowerCase()];
  if (!p) throw new Error(`unknown H.264 profile "${profile ?? ''}"`);
  if (level === undefined || !Number.isInteger(level) || level <= 0 || level > 255) {
    throw new Error(`invalid H.264 level ${String(level)}`);
  }
  return `avc1.${hex2(p[0])}${hex2(p[1])}${hex2(level)}`;
}

/** RFC 6381 codec of an audio stream (AAC object types as HLS players expect them). */
export function audioCodec(codecName: string | undefined, profile: string | undefined): string {
  const name = (codecName ?? '').toLowerCase();
  if (name === 'aac') {
    const p = (profile ?? 'LC').toLowerCase();
    if (p === 'he-aacv2') return 'mp4a.40.29';
    if (p === 'he-aac') return 'mp4a.40.5';
    if (p === 'lc') return 'mp4a.40.2';
    throw new Error(`unsupported AAC profile "${profile ?? ''}"`);
  }
  if (name === 'mp3') return 'mp4a.40.34';
  if (name === 'ac3') return 'ac-3';
  if (name === 'eac3') return 'ec-3';
  throw new Error(`unsupported audio codec "${codecName ?? ''}"`);
}

/** The CODECS attribute: video first, then audio if there is an audio stream. */
export function codecsString(
  video: Pick<ProbedStream, 'codecName' | 'profile' | 'level'>,
  audio?: Pick<ProbedStream, 'codecName' | 'profile'>,
): string {
  if ((video.codecName ?? '').toLowerCase() !== 'h264')
    throw new Error(`unexpected video codec "${video.codecName ?? ''}"`);
  const parts = [avcCodec(video.profile, video.level)];
  if (audio) parts.push(audioCodec(audio.codecName, audio.profile));
  return parts.join(',');
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** What is measured of one finished segment before it leaves the disk. */
export interface SegmentMeasure {
  bytes: number;
  /** Presentation time (s) of the segment's first video frame, as in the stream. */
  start: number;
  video: ProbedStream;
  audio?: ProbedStream;
}

/** Size and ffprobe reading of one segment file. */
export async function measureSegment(file: string, media: MediaTool): Promise<SegmentMeasure> {
  const [{ size }, info] = await Promise.all([stat(file), media.probe(file)]);
  const video = pickVideoStream(info);
  if (!video) throw new Error(`${path.basename(file)} has no video stream`);
  if (video.startTime === undefined) throw new Error(`${path.basename(file)}: no video start time`);
  return { bytes: size, start: video.startTime, video, audio: pickAudioStream(info) };
}

/**
 * rendition.json from the finished playlist and the measures of its segments (keyed by URI):
 * size and resolution/codecs/frame rate as the output has them, segment starts relative to the first.
 */
export function renditionMetadata(
  playlist: MediaPlaylist,
  measures: ReadonlyMap<string, SegmentMeasure>,
  rendition: { name: RenditionName; segmentSeconds: number },
): RenditionMetadata {
  if (!playlist.endList) throw new Error('playlist has no #EXT-X-ENDLIST: encode incomplete');
  if (playlist.segments.length === 0) throw new Error('playlist lists no segment');
  const measured = playlist.segments.map((seg) => {
    const m = measures.get(seg.uri);
    if (!m) throw new Error(`segment ${seg.uri} of the playlist was not measured`);
    return { seg, m };
  });
  const first = measured[0]!.m;
  const { peak, average } = measureBandwidth(
    measured.map(({ seg, m }) => ({ bytes: m.bytes, duration: seg.duration })),
  );
  const frameRate = first.video.frameRate;
  if (frameRate === undefined) throw new Error('cannot read the frame rate of the output');
  if (first.video.width === undefined || first.video.height === undefined)
    throw new Error('cannot read the output size');
  return {
    name: rendition.name,
    width: first.video.width,
    height: first.video.height,
    bandwidth: peak,
    averageBandwidth: average,
    codecs: codecsString(first.video, first.audio),
    frameRate: round3(frameRate),
    segmentDuration: rendition.segmentSeconds,
    segmentStarts: measured.map(({ m }) => round3(m.start - first.start)),
    durationSeconds: round3(playlist.segments.reduce((n, s) => n + s.duration, 0)),
    segmentCount: playlist.segments.length,
    hasAudio: first.audio !== undefined,
  };
}

/**
 * The termination message of a rendition that succeeded: its rendition.json as compact JSON, which
 * lets the operator count it done at the Pod's exit (operator/video/pod-results.ts). Undefined when
 * it would exceed what the kubelet keeps (a long source's segment list): the operator then waits
 * for the Job's Complete condition.
 */
export function renditionTerminationMessage(metadata: RenditionMetadata): string | undefined {
  const text = JSON.stringify(metadata);
  return Buffer.byteLength(text, 'utf8') <= MAX_TERMINATION_MESSAGE_BYTES ? text : undefined;
}
