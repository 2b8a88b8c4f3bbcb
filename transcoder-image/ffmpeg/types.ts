/**
 * What the transcoder needs from ffmpeg/ffprobe. The rest of the program depends on this interface
 * only; fluent-ffmpeg (archived upstream) sits behind it in fluent.ts and can be replaced by direct
 * process calls without touching the tasks.
 */

/** A stream as ffprobe reports it, reduced to what we use. */
export interface ProbedStream {
  index: number;
  codecType: 'video' | 'audio' | 'subtitle' | 'data' | 'attachment' | 'unknown';
  codecName?: string;
  /** ffprobe's profile name, e.g. "High", "Main", "LC". */
  profile?: string;
  /** H.264 level_idc as ffprobe prints it (31 for 3.1). */
  level?: number;
  width?: number;
  height?: number;
  /** Sample aspect ratio as [num, den]; [1, 1] when square or unknown. */
  sampleAspectRatio: [number, number];
  /** Display rotation in degrees (from the display matrix or the legacy rotate tag), 0 if none. */
  rotation: number;
  /** Frames per second from r_frame_rate / avg_frame_rate, if known. */
  frameRate?: number;
  channels?: number;
  sampleRate?: number;
  startTime?: number;
  duration?: number;
  attachedPicture: boolean;
}

export interface ProbeInfo {
  formatName?: string;
  /** Seconds, if the container knows it. */
  duration?: number;
  startTime?: number;
  size?: number;
  bitRate?: number;
  streams: ProbedStream[];
}

export interface EncodeHlsOptions {
  /** Path or URL ffmpeg reads. */
  input: string;
  /** Directory that receives index.m3u8 and segment_NNN.ts (must exist). */
  outputDir: string;
  /** ffprobe index of the video stream to use, and of the audio stream (undefined: no audio). */
  videoStreamIndex: number;
  audioStreamIndex?: number;
  width: number;
  height: number;
  frameRate: number;
  videoKbps: number;
  maxrateKbps: number;
  bufsizeKbps: number;
  audioKbps: number;
  preset: string;
  profile: string;
  segmentSeconds: number;
  gopSeconds: number;
  /** Encoder threads; undefined lets libx264 choose. */
  threads?: number;
  signal?: AbortSignal;
  /** Length of the source (s), from the caller's probe: onProgress needs it (no extra ffprobe). */
  durationSeconds?: number;
  onProgress?: (progress: EncodeProgress) => void;
  /** One chunk of a chunked rendition (common/video/chunks.ts); undefined: the whole rendition. */
  chunk?: {
    /** k·L: where the chunk starts on the source's timeline, relative to its start time. */
    startSeconds: number;
    /** L; undefined for the last chunk (to the end of the source). */
    durationSeconds?: number;
    /** The first segment's number: k·L / segment length. */
    startNumber: number;
    /** Local path of the chunk's audio piece (NUT, stream-copied); undefined: no audio. */
    audioPiece?: string;
    /** The source's format start time (s): a single process starts its timeline there. */
    sourceStartTime: number;
  };
}

/** The audio of a chunked title, encoded once and cut into one piece per chunk. */
export interface AudioPiecesOptions {
  input: string;
  /** Directory that receives audio_0.nut … (must exist). */
  outputDir: string;
  audioStreamIndex: number;
  audioKbps: number;
  chunkSeconds: number;
  count: number;
  signal?: AbortSignal;
}

/** One progress line of the encode, with the duration applied. */
export interface EncodeProgress {
  /** 0–100. */
  percent: number;
  encodedSeconds: number;
  durationSeconds: number;
  /** ffmpeg's speed (× real time), when it printed one. */
  speed?: number;
}

export interface ThumbnailOptions {
  input: string;
  output: string;
  atSeconds: number;
  videoStreamIndex: number;
  width: number;
  height: number;
  signal?: AbortSignal;
}

export interface MediaTool {
  probe(input: string, signal?: AbortSignal): Promise<ProbeInfo>;
  encodeHlsRendition(opts: EncodeHlsOptions): Promise<void>;
  thumbnail(opts: ThumbnailOptions): Promise<void>;
  audioPieces(opts: AudioPiecesOptions): Promise<void>;
}

/**
 * Why ffmpeg/ffprobe failed, from its exit and stderr:
 *   invalidInput  the input is not a readable media file (bad input, never retried)
 *   io            reading the input over the network failed (storage, retried)
 *   failed        anything else (internal, retried)
 *   aborted       we stopped it (signal)
 */
export type MediaFailure = 'invalidInput' | 'io' | 'failed' | 'aborted';

export class MediaError extends Error {
  constructor(
    public readonly failure: MediaFailure,
    message: string,
    /** Last lines of stderr, for logs. */
    public readonly stderr = '',
  ) {
    super(message);
    this.name = 'MediaError';
  }
}
