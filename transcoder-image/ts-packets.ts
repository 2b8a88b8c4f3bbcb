/**
 * MPEG-TS packets, pure and streaming (a segment is fed in pieces of any size; memory stays at one
 * packet plus one audio PES): what a chunk's segments are measured with (video PES timestamps and
 * frame count, AAC packets from the ADTS headers, payload packets per PID for the continuity
 * counters) and the renumbering of continuity counters the `stitch` task applies at the joins
 * (ISO/IEC 13818-1 §2.4.3: only packets that carry a payload increment the counter).
 */
import { Transform, type TransformCallback } from 'node:stream';

export const TS_PACKET_BYTES = 188;
const SYNC = 0x47;
const NULL_PID = 0x1fff;

const VIDEO_STREAM_TYPES = new Set([0x01, 0x02, 0x10, 0x1b, 0x24]);
const AUDIO_STREAM_TYPES = new Set([0x03, 0x04, 0x0f, 0x11, 0x81, 0x87]);
const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

export interface TsMeasure {
  /** Per PID (decimal string): packets that carry a payload. */
  payloadPackets: Record<string, number>;
  /** Per PID: continuity counter of its first packet. */
  firstCc: Record<string, number>;
  videoPid?: number;
  audioPid?: number;
  /** Video: one PES per frame (as ffmpeg's muxer writes it). */
  videoFrames: number;
  firstVideoPts?: number;
  lastVideoPts?: number;
  /** AAC (ADTS) frames; first/last are their presentation times. */
  audioPackets: number;
  firstAudioPts?: number;
  lastAudioPts?: number;
  /** 90 kHz ticks per AAC frame, from the ADTS header. */
  audioPtsStep?: number;
}

/** Offset of a packet's payload (after the header and any adaptation field); -1 when it has none. */
function payloadOffset(p: Buffer, at: number): number {
  const afc = (p[at + 3]! >> 4) & 3;
  if (!(afc & 1)) return -1;
  const start = afc & 2 ? 5 + p[at + 4]! : 4;
  return start < TS_PACKET_BYTES ? start : -1;
}

/** 33-bit PTS from 5 PES header bytes (no 32-bit overflow). */
export function readPts(b: Buffer, at: number): number {
  return (
    ((b[at]! >> 1) & 7) * 2 ** 30 +
    (b[at + 1]! << 22) +
    ((b[at + 2]! >> 1) << 15) +
    (b[at + 3]! << 7) +
    (b[at + 4]! >> 1)
  );
}

/** PTS of a PES packet header at `at` (00 00 01 sid ...), or undefined. */
function pesPts(b: Buffer, at: number, end: number): number | undefined {
  if (end - at < 14 || b[at] !== 0 || b[at + 1] !== 0 || b[at + 2] !== 1) return undefined;
  if (!((b[at + 7]! >> 6) & 2)) return undefined;
  return readPts(b, at + 9);
}

/** Measures a transport stream fed in pieces: `push` each piece, then `finish`. */
export class TsScanner {
  private carry = Buffer.alloc(0);
  private pmtPid: number | undefined;
  private audioPes: Buffer[] = [];
  private audioPesPts: number | undefined;
  readonly m: TsMeasure = { payloadPackets: {}, firstCc: {}, videoFrames: 0, audioPackets: 0 };

  push(piece: Buffer): void {
    let buf = this.carry.length > 0 ? Buffer.concat([this.carry, piece]) : piece;
    let at = 0;
    for (; at + TS_PACKET_BYTES <= buf.length; at += TS_PACKET_BYTES) this.packet(buf, at);
    this.carry = Buffer.from(buf.subarray(at));
    buf = Buffer.alloc(0);
  }

  finish(): TsMeasure {
    if (this.carry.length > 0) throw new Error(`${this.carry.length} trailing bytes: not whole TS packets`);
    this.flushAudio();
    return this.m;
  }

  private packet(b: Buffer, at: number): void {
    if (b[at] !== SYNC) throw new Error('lost MPEG-TS sync (0x47)');
    const pid = ((b[at + 1]! & 0x1f) << 8) | b[at + 2]!;
    if (pid === NULL_PID) return;
    const key = String(pid);
    if (this.m.firstCc[key] === undefined) this.m.firstCc[key] = b[at + 3]! & 0x0f;
    const off = payloadOffset(b, at);
    if (off < 0) return;
    this.m.payloadPackets[key] = (this.m.payloadPackets[key] ?? 0) + 1;
    const pusi = (b[at + 1]! & 0x40) !== 0;
    const start = at + off;
    const end = at + TS_PACKET_BYTES;
    if (pid === 0 && pusi) this.pat(b, start, end);
    else if (pid === this.pmtPid && pusi) this.pmt(b, start, end);
    else if (pid === this.m.videoPid && pusi) {
      const pts = pesPts(b, start, end);
      if (pts === undefined) throw new Error('video PES without PTS');
      this.m.videoFrames++;
      this.m.firstVideoPts = Math.min(this.m.firstVideoPts ?? pts, pts);
      this.m.lastVideoPts = Math.max(this.m.lastVideoPts ?? pts, pts);
    } else if (pid === this.m.audioPid) {
      if (pusi) {
        this.flushAudio();
        const pts = pesPts(b, start, end);
        if (pts === undefined) throw new Error('audio PES without PTS');
        this.audioPesPts = pts;
        this.audioPes.push(Buffer.from(b.subarray(start + 9 + b[start + 8]!, end)));
      } else if (this.audioPesPts !== undefined) this.audioPes.push(Buffer.from(b.subarray(start, end)));
    }
  }

  private pat(b: Buffer, start: number, end: number): void {
    const t = start + 1 + b[start]!;
    const sectionEnd = Math.min(end, t + 3 + (((b[t + 1]! & 0x0f) << 8) | b[t + 2]!) - 4);
    for (let e = t + 8; e + 4 <= sectionEnd; e += 4) {
      if (((b[e]! << 8) | b[e + 1]!) !== 0) {
        this.pmtPid = ((b[e + 2]! & 0x1f) << 8) | b[e + 3]!;
        return;
      }
    }
  }

  private pmt(b: Buffer, start: number, end: number): void {
    const t = start + 1 + b[start]!;
    const sectionEnd = Math.min(end, t + 3 + (((b[t + 1]! & 0x0f) << 8) | b[t + 2]!) - 4);
    let e = t + 12 + (((b[t + 10]! & 0x0f) << 8) | b[t + 11]!);
    while (e + 5 <= sectionEnd) {
      const type = b[e]!;
      const pid = ((b[e + 1]! & 0x1f) << 8) | b[e + 2]!;
      if (VIDEO_STREAM_TYPES.has(type)) this.m.videoPid ??= pid;
      else if (AUDIO_STREAM_TYPES.has(type)) this.m.audioPid ??= pid;
      e += 5 + (((b[e + 3]! & 0x0f) << 8) | b[e + 4]!);
    }
  }

  /** Counts the ADTS frames of the audio PES collected so far. */
  private flushAudio(): void {
    if (this.audioPesPts === undefined) return;
    const data = Buffer.concat(this.audioPes);
    let frames = 0;
    let step: number | undefined;
    for (let i = 0; i + 7 <= data.length;) {
      if (data[i] !== 0xff || (data[i + 1]! & 0xf6) !== 0xf0) throw new Error('audio PES is not ADTS');
      const len = ((data[i + 3]! & 0x03) << 11) | (data[i + 4]! << 3) | (data[i + 5]! >> 5);
      const rate = ADTS_RATES[(data[i + 2]! >> 2) & 0x0f];
      const blocks = (data[i + 6]! & 0x03) + 1;
      if (!rate || len < 7) throw new Error('invalid ADTS header');
      step = (90_000 * 1024 * blocks) / rate;
      frames++;
      i += len;
    }
    if (frames > 0 && step !== undefined) {
      this.m.firstAudioPts ??= this.audioPesPts;
      this.m.lastAudioPts = this.audioPesPts + Math.round((frames - 1) * step);
      this.m.audioPackets += frames;
      this.m.audioPtsStep = step;
    }
    this.audioPes = [];
    this.audioPesPts = undefined;
  }
}

/** Measures a whole transport stream in memory (tests; tasks stream through TsScanner). */
export function scanTs(buf: Buffer): TsMeasure {
  const s = new TsScanner();
  s.push(buf);
  return s.finish();
}

/**
 * Sets the continuity counters of whole packets in place so that each PID's first packet carries
 * `targets[pid]`, and every later one keeps its distance to it (mod 16): one constant per PID, found
 * at that PID's first packet (`state`, carried across calls). Applied twice, it changes nothing the
 * second time: a retried stitch is harmless. PIDs without a target are left as they are.
 */
export function renumberContinuity(
  buf: Buffer,
  targets: ReadonlyMap<number, number>,
  state: Map<number, number> = new Map(),
): void {
  if (buf.length % TS_PACKET_BYTES !== 0) throw new Error('not whole TS packets');
  for (let at = 0; at < buf.length; at += TS_PACKET_BYTES) {
    if (buf[at] !== SYNC) throw new Error('lost MPEG-TS sync (0x47)');
    const pid = ((buf[at + 1]! & 0x1f) << 8) | buf[at + 2]!;
    const target = targets.get(pid);
    if (target === undefined || pid === NULL_PID) continue;
    const cc = buf[at + 3]! & 0x0f;
    let add = state.get(pid);
    if (add === undefined) {
      add = (target - cc + 16) & 0x0f;
      state.set(pid, add);
    }
    buf[at + 3] = (buf[at + 3]! & 0xf0) | ((cc + add) & 0x0f);
  }
}

/**
 * A stream transform applying renumberContinuity to a transport stream (any chunking of the input);
 * `observe` sees the original packets first (to measure them in the same pass).
 */
export class ContinuityRewriter extends Transform {
  private carry = Buffer.alloc(0);
  private readonly state = new Map<number, number>();
  constructor(
    private readonly targets: ReadonlyMap<number, number>,
    private readonly observe?: (packets: Buffer) => void,
  ) {
    super();
  }
  override _transform(piece: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      const buf = this.carry.length > 0 ? Buffer.concat([this.carry, piece]) : Buffer.from(piece);
      const whole = buf.length - (buf.length % TS_PACKET_BYTES);
      const out = buf.subarray(0, whole);
      this.observe?.(out);
      renumberContinuity(out, this.targets, this.state);
      this.carry = Buffer.from(buf.subarray(whole));
      done(null, out);
    } catch (err) {
      done(err as Error);
    }
  }
  override _flush(done: TransformCallback): void {
    done(
      this.carry.length > 0 ? new Error(`${this.carry.length} trailing bytes: not whole TS packets`) : null,
    );
  }
}

/**
 * The continuity counters a segment of chunk k must start with, per PID: its original first counters
 * (as the chunk measured them) moved by the chunk's offset (continuityOffsets).
 */
export function segmentContinuityTargets(
  segmentFirstCc: Record<string, number>,
  chunkOffsets: ReadonlyMap<number, number>,
): Map<number, number> {
  const targets = new Map<number, number>();
  for (const [pid, cc] of Object.entries(segmentFirstCc))
    targets.set(Number(pid), (cc + (chunkOffsets.get(Number(pid)) ?? 0)) & 0x0f);
  return targets;
}

/**
 * The continuity-counter offset per PID for chunk k: each PID continues from where the chunks before
 * it left it (their payload packet counts mod 16), whatever counter the chunk itself started at.
 */
export function continuityOffsets(
  chunks: { ccCounts: Record<string, number>; ccFirst?: Record<string, number> }[],
  k: number,
): Map<number, number> {
  const offsets = new Map<number, number>();
  const c = chunks[k]!;
  for (const pid of Object.keys(c.ccCounts)) {
    let next = chunks[0]!.ccFirst?.[pid] ?? 0;
    for (let j = 0; j < k; j++) next += chunks[j]!.ccCounts[pid] ?? 0;
    const own = c.ccFirst?.[pid] ?? 0;
    offsets.set(Number(pid), (((next - own) % 16) + 16) % 16);
  }
  return offsets;
}
