// Over 300 lines: the pure, unit-tested contract of ffmpeg's command lines and output parsing, many small functions.
/**
 * Pure parts of the ffmpeg adapter: the argument lists, the scale math, probe normalisation and
 * the reading of ffmpeg's stderr. Kept free of fluent-ffmpeg so a replacement adapter reuses them.
 */
import path from 'node:path';
import { percentOf } from '../../common/video/progress.js';
import type {
  AudioPiecesOptions,
  EncodeHlsOptions,
  MediaFailure,
  ProbeInfo,
  ProbedStream,
  ThumbnailOptions,
} from './types.js';

export const SEGMENT_FILE_PATTERN = 'segment_%03d.ts';
export const PLAYLIST_FILE = 'index.m3u8';

export interface SourceGeometry {
  width: number;
  height: number;
  sampleAspectRatio?: [number, number];
  rotation?: number;
}

/** The geometry of a probed video stream (a stream without a size fails in scaleToFit). */
export function geometryOf(video: ProbedStream): SourceGeometry {
  return {
    width: video.width ?? 0,
    height: video.height ?? 0,
    sampleAspectRatio: video.sampleAspectRatio,
    rotation: video.rotation,
  };
}

/**
 * The output size for a source fitted into a box: display aspect ratio kept (sample aspect ratio
 * and a 90°/270° rotation taken into account), both sides even, never upscaled unless asked.
 */
export function scaleToFit(
  src: SourceGeometry,
  box: { width: number; height: number },
  opts: { allowUpscale?: boolean } = {},
): { width: number; height: number } {
  if (!(src.width > 0 && src.height > 0))
    throw new RangeError(`invalid source size ${src.width}x${src.height}`);
  const [sn, sd] = src.sampleAspectRatio ?? [1, 1];
  const sar = sn > 0 && sd > 0 ? sn / sd : 1;
  let dispW = src.width * sar;
  let dispH = src.height;
  if (Math.abs(normalizeRotation(src.rotation ?? 0)) === 90) [dispW, dispH] = [dispH, dispW];
  let scale = Math.min(box.width / dispW, box.height / dispH);
  if (!opts.allowUpscale) scale = Math.min(scale, 1);
  return { width: even(dispW * scale, box.width), height: even(dispH * scale, box.height) };
}

/** Nearest even integer ≥ 2 and ≤ the (even) limit. */
function even(x: number, limit: number): number {
  const e = 2 * Math.round(x / 2);
  return Math.max(2, Math.min(e, limit - (limit % 2)));
}

/** Rotation folded into (-180, 180]. */
export function normalizeRotation(deg: number): number {
  let r = deg % 360;
  if (r > 180) r -= 360;
  if (r <= -180) r += 360;
  return r;
}

/** Frames of a GOP of `seconds` at `fps` (at least 1). */
export function gopFrames(fps: number, seconds: number): number {
  return Math.max(1, Math.round(fps * seconds));
}

/** ffmpeg's force_key_frames expression: a key frame at every segment boundary. */
export function forceKeyFramesExpr(segmentSeconds: number): string {
  return `expr:gte(t,n_forced*${segmentSeconds})`;
}

/**
 * Added to every output timestamp of a rendition, chunked or not: larger than any negative DTS an
 * encode starts with (x264's B-frame delay, AAC priming), so nothing is shifted, and the same for
 * every chunk and every rendition (their segment boundaries then carry the same timestamps).
 */
export const TIMESTAMP_OFFSET_SECONDS = 1;
/**
 * Added to the audio pieces' timestamps (NUT) so that none is negative (the AAC priming packet would
 * make the muxer shift the whole piece); the chunk encode takes it off again with -itsoffset.
 */
export const AUDIO_PIECE_OFFSET_SECONDS = 10;
export const AUDIO_PIECE_PATTERN = 'audio_%d.nut';

/** A time in seconds as ffmpeg reads it (microsecond precision, no exponent). */
function seconds(v: number): string {
  return (Math.round(v * 1e6) / 1e6).toFixed(6);
}

/** The renditions' audio encode (also the audio pieces of a chunked title: encoded once, copied). */
export function audioEncodeOptions(kbps: number): string[] {
  return ['-c:a', 'aac', '-b:a', `${kbps}k`, '-ac', '2', '-ar', '48000'];
}

/**
 * The input options of one chunk's source (before `-i`): a frame-exact seek to k·L on the source's own
 * timeline (-copyts: the audio piece's sub-frame position is kept), L seconds unless it is the last chunk.
 */
export function chunkSourceInputOptions(c: NonNullable<EncodeHlsOptions['chunk']>): string[] {
  return [
    '-copyts',
    '-ss',
    seconds(c.startSeconds),
    ...(c.durationSeconds !== undefined ? ['-t', seconds(c.durationSeconds)] : []),
  ];
}

/** The input options of a chunk's audio piece (before its `-i`): back onto the source's timeline. */
export function audioPieceInputOptions(c: NonNullable<EncodeHlsOptions['chunk']>): string[] {
  return [
    '-protocol_whitelist',
    'file',
    '-format_whitelist',
    'nut',
    '-itsoffset',
    seconds(c.sourceStartTime - AUDIO_PIECE_OFFSET_SECONDS),
  ];
}

/**
 * Output options of the audio pieces (the probe Job of a chunked title): the audio encoded once, as
 * every rendition encodes it, cut at each chunk boundary into packet-exact NUT files
 * (audio_0.nut … audio_{count-1}.nut), nothing re-encoded, no packet lost or repeated.
 */
export function audioPiecesOutputOptions(o: AudioPiecesOptions): string[] {
  const times = Array.from({ length: o.count - 1 }, (_, i) =>
    seconds(AUDIO_PIECE_OFFSET_SECONDS + (i + 1) * o.chunkSeconds),
  );
  return [
    '-map',
    `0:${o.audioStreamIndex}`,
    '-vn',
    '-sn',
    '-dn',
    '-map_metadata',
    '-1',
    ...audioEncodeOptions(o.audioKbps),
    '-output_ts_offset',
    seconds(AUDIO_PIECE_OFFSET_SECONDS),
    '-f',
    'segment',
    ...(times.length > 0 ? ['-segment_times', times.join(',')] : []),
    '-segment_format',
    'nut',
    '-reset_timestamps',
    '0',
  ];
}

/** Output options for one HLS VOD rendition (H.264 + AAC, MPEG-TS segments), or one chunk of it. */
export function hlsOutputOptions(o: EncodeHlsOptions): string[] {
  const gop = gopFrames(o.frameRate, o.gopSeconds);
  const video = [
    '-map',
    `0:${o.videoStreamIndex}`,
    '-vf',
    `scale=${o.width}:${o.height}:flags=bicubic,setsar=1,format=yuv420p`,
    '-c:v',
    'libx264',
    '-preset',
    o.preset,
    '-profile:v',
    o.profile,
    '-b:v',
    `${o.videoKbps}k`,
    '-maxrate',
    `${o.maxrateKbps}k`,
    '-bufsize',
    `${o.bufsizeKbps}k`,
    '-g',
    String(gop),
    '-keyint_min',
    String(gop),
    '-sc_threshold',
    '0',
    '-force_key_frames',
    forceKeyFramesExpr(o.segmentSeconds),
    ...(o.threads !== undefined ? ['-threads', String(o.threads)] : []),
  ];
  const chunk = o.chunk;
  const audio = chunk
    ? chunk.audioPiece === undefined
      ? ['-an']
      : ['-map', '1:0', '-c:a', 'copy']
    : o.audioStreamIndex === undefined
      ? ['-an']
      : ['-map', `0:${o.audioStreamIndex}`, ...audioEncodeOptions(o.audioKbps)];
  const hls = [
    '-sn',
    '-dn',
    '-map_metadata',
    '-1',
    // one timeline for a single process and every chunk (notes/segment-parallel.md): nothing shifted
    // to non-negative (that would shift chunk 0 only), one constant offset that keeps every DTS ≥ 0
    '-avoid_negative_ts',
    'disabled',
    '-output_ts_offset',
    seconds(TIMESTAMP_OFFSET_SECONDS - (chunk ? chunk.sourceStartTime : 0)),
    ...(chunk ? ['-start_number', String(chunk.startNumber)] : []),
    '-f',
    'hls',
    '-hls_time',
    String(o.segmentSeconds),
    '-hls_playlist_type',
    'vod',
    '-hls_list_size',
    '0',
    '-hls_segment_type',
    'mpegts',
    '-hls_flags',
    // temp_file: a segment appears under its name only once complete (SegmentShipper relies on it)
    'independent_segments+temp_file',
    '-hls_segment_filename',
    path.join(o.outputDir, SEGMENT_FILE_PATTERN),
  ];
  return [...video, ...audio, ...hls];
}

/**
 * The demuxers a source may be read with: the containers the API accepts on upload (api/services/sniff.ts:
 * MP4/MOV/3GP, Matroska/WebM, AVI, MPEG-TS/M2TS, MPEG-PS, FLV, ASF, Ogg), as ffmpeg names them. Playlist
 * and indirection formats (hls, concat, ffconcat, image2, tee, data...) are not among them: a crafted
 * source such as an .m3u8 or ffconcat file naming file:///etc/passwd or an internal http URL is refused
 * before anything is opened.
 */
export const SOURCE_DEMUXERS = 'mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,mpegts,mpeg,flv,asf,ogg';

/**
 * The protocols an input may be read with: its own scheme only (https: https+tls+tcp, http: http+tcp, a
 * local path: file). Nothing an input names inside itself can reach another protocol (file:, concat:,
 * subfile:, data:, crypto:, pipe:...).
 */
export function protocolWhitelist(input: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(input)?.[1]?.toLowerCase();
  if (scheme === 'https') return 'https,tls,tcp';
  if (scheme === 'http') return 'http,tcp';
  // a local path: absolute or ./-relative, so ffmpeg never reads a protocol prefix ("subfile,...:") into it
  if (scheme === undefined && /^\.{0,2}\//.test(input)) return 'file';
  throw new Error(`refusing input ${JSON.stringify(input.slice(0, 40))}: only http(s) URLs and local paths`);
}

/**
 * The options every ffmpeg/ffprobe input gets: its protocol whitelist and the source demuxers (given
 * before the input, they apply to it and to anything it opens).
 */
export function inputGuardOptions(input: string): string[] {
  return ['-protocol_whitelist', protocolWhitelist(input), '-format_whitelist', SOURCE_DEMUXERS];
}

/**
 * Input options for a source read over HTTP (a presigned URL): give up on a stalled connection
 * after 30 s instead of hanging until the Job's deadline, and resume a dropped connection with a
 * range request (network errors only; an HTTP 4xx/5xx still fails at once).
 */
export function networkInputOptions(input: string): string[] {
  const guard = inputGuardOptions(input);
  if (!/^https?:\/\//i.test(input)) return guard;
  return [
    ...guard,
    '-rw_timeout',
    '30000000',
    '-reconnect',
    '1',
    '-reconnect_on_network_error',
    '1',
    '-reconnect_delay_max',
    '10',
  ];
}

/** What one line of ffmpeg's stderr progress says: media time encoded, and the speed when known. */
export interface ProgressLine {
  encodedSeconds: number;
  /** `speed=1.52x`: media seconds per wall-clock second, averaged since the start; absent when N/A. */
  speed?: number;
}

/**
 * Parses one line of ffmpeg's stderr progress (`frame=… time=00:01:02.50 bitrate=… speed=1.5x`);
 * undefined for other lines (and for `time=N/A`).
 */
export function parseProgressLine(line: string): ProgressLine | undefined {
  const m = /\btime=(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(line);
  if (!m) return undefined;
  const encodedSeconds = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  const sp = /\bspeed=\s*(\d+(?:\.\d+)?(?:e[+-]?\d+)?)x/.exec(line);
  const speed = sp ? Number(sp[1]) : undefined;
  return { encodedSeconds, ...(speed !== undefined && Number.isFinite(speed) ? { speed } : {}) };
}

/**
 * Percent done from one line of ffmpeg's stderr progress (`... time=00:01:02.50 ...`) and the
 * source's duration; undefined for other lines or an unknown duration.
 */
export function progressPercent(line: string, durationSeconds: number | undefined): number | undefined {
  const p = parseProgressLine(line);
  return p === undefined ? undefined : percentOf(p.encodedSeconds, durationSeconds);
}

/** ffprobe only needs the timeout (it reads a few megabytes at most). */
export function probeInputOptions(input: string): string[] {
  return [...inputGuardOptions(input), ...(/^https?:\/\//i.test(input) ? ['-rw_timeout', '30000000'] : [])];
}

export function thumbnailInputOptions(o: ThumbnailOptions): string[] {
  return [...networkInputOptions(o.input), '-ss', o.atSeconds.toFixed(3)];
}

export function thumbnailOutputOptions(o: ThumbnailOptions): string[] {
  return [
    '-map',
    `0:${o.videoStreamIndex}`,
    '-frames:v',
    '1',
    '-vf',
    `scale=${o.width}:${o.height}:flags=bicubic,setsar=1`,
    '-c:v',
    'mjpeg',
    '-q:v',
    '3',
    '-f',
    'image2',
  ];
}

/** "30000/1001" → 29.97…; undefined for 0/0, N/A, garbage. */
export function parseRational(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(?:[/:](\d+(?:\.\d+)?))?$/.exec(v.trim());
  if (!m) return undefined;
  const num = Number(m[1]);
  const den = m[2] === undefined ? 1 : Number(m[2]);
  if (!(num > 0 && den > 0)) return undefined;
  return num / den;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' && v !== 'N/A' && v !== 'unknown' ? v : undefined;
}

const PLAUSIBLE_FPS = (f: number | undefined) => f !== undefined && f >= 1 && f <= 240;

/** ffprobe JSON/fluent-ffmpeg data → ProbeInfo. */
export function normalizeProbe(raw: { streams?: unknown[]; format?: unknown }): ProbeInfo {
  const format = (raw.format ?? {}) as Record<string, unknown>;
  const streams = (raw.streams ?? []).map((s) => normalizeStream(s as Record<string, unknown>));
  return {
    formatName: str(format.format_name),
    duration: positive(num(format.duration)),
    startTime: num(format.start_time),
    size: num(format.size),
    bitRate: num(format.bit_rate),
    streams,
  };
}

function positive(n: number | undefined): number | undefined {
  return n !== undefined && n > 0 ? n : undefined;
}

function normalizeStream(s: Record<string, unknown>): ProbedStream {
  const type = String(s.codec_type ?? 'unknown');
  const codecType = (
    ['video', 'audio', 'subtitle', 'data', 'attachment'].includes(type) ? type : 'unknown'
  ) as ProbedStream['codecType'];
  const avg = parseRational(s.avg_frame_rate);
  const r = parseRational(s.r_frame_rate);
  const sarMatch = /^(\d+):(\d+)$/.exec(String(s.sample_aspect_ratio ?? ''));
  const sar: [number, number] =
    sarMatch && Number(sarMatch[1]) > 0 && Number(sarMatch[2]) > 0
      ? [Number(sarMatch[1]), Number(sarMatch[2])]
      : [1, 1];
  const tags = (s.tags ?? {}) as Record<string, unknown>;
  const disposition = (s.disposition ?? {}) as Record<string, unknown>;
  const sideData = Array.isArray(s.side_data_list) ? (s.side_data_list as Record<string, unknown>[]) : [];
  const rotation =
    num(s.rotation) ?? num(sideData.find((d) => d.rotation !== undefined)?.rotation) ?? num(tags.rotate) ?? 0;
  return {
    index: num(s.index) ?? 0,
    codecType,
    codecName: str(s.codec_name),
    profile: str(s.profile),
    level: num(s.level),
    width: positive(num(s.width)),
    height: positive(num(s.height)),
    sampleAspectRatio: sar,
    // ffprobe's display matrix rotation is counter-clockwise and negative for a clockwise "rotate" tag;
    // only its magnitude matters for the output size.
    rotation: normalizeRotation(rotation),
    frameRate: PLAUSIBLE_FPS(avg) ? avg : PLAUSIBLE_FPS(r) ? r : undefined,
    channels: num(s.channels),
    sampleRate: num(s.sample_rate),
    startTime: num(s.start_time),
    duration: positive(num(s.duration)),
    attachedPicture: Number(disposition.attached_pic ?? 0) === 1,
  };
}

/** Codecs the "tty" demuxers (ANSI art, binary text) report: random bytes named *.bin land there. */
const TEXT_ART_CODECS = new Set(['bintext', 'xbin', 'idf', 'ansi']);

/** The first real video stream (no cover art, no text art), or undefined. */
export function pickVideoStream(info: ProbeInfo): ProbedStream | undefined {
  return info.streams.find(
    (s) =>
      s.codecType === 'video' &&
      !s.attachedPicture &&
      s.width !== undefined &&
      s.height !== undefined &&
      !TEXT_ART_CODECS.has(s.codecName ?? ''),
  );
}

export function pickAudioStream(info: ProbeInfo): ProbedStream | undefined {
  return info.streams.find((s) => s.codecType === 'audio' && (s.channels ?? 1) > 0);
}

const IO_PATTERNS = [
  /Server returned \d{3}/i,
  /HTTP error \d{3}/i,
  /Connection refused/i,
  /Connection reset/i,
  /Connection timed out/i,
  /Operation timed out/i,
  /Network is unreachable/i,
  /Failed to resolve hostname/i,
  /Input\/output error/i,
];

const INVALID_INPUT_PATTERNS = [
  /Invalid data found when processing input/i,
  /moov atom not found/i,
  /could not find codec parameters/i,
  /does not contain any stream/i,
  /EBML header parsing failed/i,
  /Error splitting the input into NAL units/i,
  /Invalid NAL unit size/i,
  /no frame!?$/im,
  /Output file is empty, nothing was encoded/i,
  // a source in a format or naming a protocol outside the whitelists (inputGuardOptions)
  /not on (the )?(format )?whitelist/i,
  /Protocol '[^']*' not on whitelist/i,
];

/** Reads ffmpeg's stderr: was it the network, the input, or something else? */
export function classifyStderr(stderr: string): MediaFailure {
  if (IO_PATTERNS.some((p) => p.test(stderr))) return 'io';
  if (INVALID_INPUT_PATTERNS.some((p) => p.test(stderr))) return 'invalidInput';
  return 'failed';
}

/** The most telling stderr line: the last one matching a known pattern, else the last non-empty one. */
export function stderrSummary(stderr: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(
      (l) => l.length > 0 && !/^(ffmpeg|ffprobe) version|^built with|^configuration:|^lib\w+ +\d/.test(l),
    );
  const known = [...IO_PATTERNS, ...INVALID_INPUT_PATTERNS];
  const hit = [...lines].reverse().find((l) => known.some((p) => p.test(l)));
  const line = hit ?? lines.at(-1) ?? '';
  // ffmpeg prefixes errors with the input name, which is a presigned URL here: drop it.
  return line.replace(/^https?:\/\/\S+?: /, '').replace(/^\[[^\]]+\] /, '');
}
