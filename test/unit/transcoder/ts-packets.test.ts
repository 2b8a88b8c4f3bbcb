/** transcoder-image/ts-packets.ts on synthetic MPEG-TS packets: continuity counters, PES timestamps, ADTS frames. */
import { expect } from 'chai';
import { Readable } from 'node:stream';
import {
  ContinuityRewriter,
  continuityOffsets,
  renumberContinuity,
  scanTs,
  segmentContinuityTargets,
  TS_PACKET_BYTES,
  TsScanner,
} from '../../../transcoder-image/ts-packets.js';

/** One 188-byte packet: PID, continuity counter, payload (and an adaptation field when asked). */
function packet(
  pid: number,
  cc: number,
  o: { payload?: Buffer; pusi?: boolean; adaptationOnly?: boolean } = {},
) {
  const p = Buffer.alloc(TS_PACKET_BYTES, 0xff);
  p[0] = 0x47;
  p[1] = (o.pusi ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  p[2] = pid & 0xff;
  if (o.adaptationOnly) {
    p[3] = 0x20 | (cc & 0x0f);
    p[4] = 183;
    p[5] = 0;
    return p;
  }
  const payload = o.payload ?? Buffer.alloc(0);
  const stuffing = TS_PACKET_BYTES - 4 - payload.length;
  if (stuffing > 0) {
    p[3] = 0x30 | (cc & 0x0f);
    p[4] = stuffing - 1;
    if (stuffing > 1) p[5] = 0;
    payload.copy(p, 4 + stuffing);
  } else {
    p[3] = 0x10 | (cc & 0x0f);
    payload.copy(p, 4);
  }
  return p;
}

function ptsBytes(pts: number, marker = 0x2): Buffer {
  const b = Buffer.alloc(5);
  b[0] = (marker << 4) | ((Math.floor(pts / 2 ** 30) & 7) << 1) | 1;
  const low = pts % 2 ** 30;
  b[1] = (low >> 22) & 0xff;
  b[2] = (((low >> 15) & 0x7f) << 1) | 1;
  b[3] = (low >> 7) & 0xff;
  b[4] = ((low & 0x7f) << 1) | 1;
  return b;
}

function pes(streamId: number, pts: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0, 0, 1, streamId, 0, 0, 0x80, 0x80, 5]), ptsBytes(pts), body]);
}

/** An ADTS AAC frame of `len` bytes at 48 kHz. */
function adts(len: number): Buffer {
  const f = Buffer.alloc(len, 0);
  f[0] = 0xff;
  f[1] = 0xf1;
  f[2] = (1 << 6) | (3 << 2); // LC, 48 kHz
  f[3] = 0x80 | ((len >> 11) & 0x03);
  f[4] = (len >> 3) & 0xff;
  f[5] = ((len & 0x07) << 5) | 0x1f;
  f[6] = 0xfc;
  return f;
}

function section(tableId: number, body: Buffer): Buffer {
  const len = body.length + 5 + 4; // after section_length: 5 header bytes, body, CRC
  return Buffer.concat([
    Buffer.from([0, tableId, 0xb0 | ((len >> 8) & 0x0f), len & 0xff, 0, 1, 0xc1, 0, 0]),
    body,
    Buffer.alloc(4),
  ]);
}

const PAT = section(0x00, Buffer.from([0, 1, 0xf0, 0x00])); // program 1 → PMT PID 0x1000
const PMT = section(
  0x02,
  Buffer.from([0xe1, 0x00, 0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00, 0x0f, 0xe1, 0x01, 0xf0, 0x00]),
);

/** A tiny segment: PAT, PMT, 3 video frames (PTS out of order, as with B-frames), 2 audio PES of 2 + 1 AAC frames. */
function segment(cc: { pat: number; pmt: number; v: number; a: number }, v0: number, a0: number): Buffer {
  const packets = [
    packet(0, cc.pat, { pusi: true, payload: PAT }),
    packet(0x1000, cc.pmt, { pusi: true, payload: PMT }),
    packet(0x100, cc.v, { pusi: true, payload: pes(0xe0, v0, Buffer.alloc(20)) }),
    packet(0x100, cc.v, { adaptationOnly: true }),
    packet(0x100, cc.v + 1, { payload: Buffer.alloc(184, 1) }),
    packet(0x101, cc.a, { pusi: true, payload: pes(0xc0, a0, Buffer.concat([adts(30), adts(40)])) }),
    packet(0x100, cc.v + 2, { pusi: true, payload: pes(0xe0, v0 + 6000, Buffer.alloc(20)) }),
    packet(0x100, cc.v + 3, { pusi: true, payload: pes(0xe0, v0 + 3000, Buffer.alloc(20)) }),
    packet(0x101, cc.a + 1, { pusi: true, payload: pes(0xc0, a0 + 3840, adts(50)) }),
    packet(0x1fff, 0),
  ];
  return Buffer.concat(packets);
}

const ccOf = (buf: Buffer, pid: number) => {
  const out: number[] = [];
  for (let at = 0; at < buf.length; at += TS_PACKET_BYTES)
    if ((((buf[at + 1]! & 0x1f) << 8) | buf[at + 2]!) === pid) out.push(buf[at + 3]! & 0x0f);
  return out;
};

describe('transcoder-image/ts-packets', () => {
  it('reads video PES timestamps, frames, AAC frames and payload packets per PID', () => {
    const m = scanTs(segment({ pat: 0, pmt: 0, v: 0, a: 0 }, 8_589_000_000, 212_160));
    expect(m.videoPid).to.equal(0x100);
    expect(m.audioPid).to.equal(0x101);
    expect(m.videoFrames).to.equal(3);
    // a 33-bit PTS beyond 2^32 is read without overflow
    expect(m.firstVideoPts).to.equal(8_589_000_000);
    expect(m.lastVideoPts).to.equal(8_589_006_000);
    expect(m.audioPackets).to.equal(3);
    expect(m.audioPtsStep).to.equal(1920);
    expect(m.firstAudioPts).to.equal(212_160);
    expect(m.lastAudioPts).to.equal(212_160 + 3840);
    // the adaptation-only packet and the null packet carry no payload
    expect(m.payloadPackets).to.deep.equal({ '0': 1, '4096': 1, '256': 4, '257': 2 });
  });

  it('reads the same when fed in odd pieces', () => {
    const buf = segment({ pat: 3, pmt: 3, v: 5, a: 9 }, 216_000, 214_080);
    const s = new TsScanner();
    for (let at = 0; at < buf.length; at += 77) s.push(buf.subarray(at, at + 77));
    expect(s.finish()).to.deep.equal(scanTs(buf));
    expect(scanTs(buf).firstCc).to.deep.equal({ '0': 3, '4096': 3, '256': 5, '257': 9 });
    expect(() => scanTs(buf.subarray(0, 200))).to.throw(/trailing bytes/);
  });

  it('renumbers the counters so each PID continues from the chunk before, adaptation-only packets included', () => {
    // chunk 0: PAT/PMT 1 packet, video 4, audio 2 payload packets; chunk 1 restarts at 0
    const chunk0 = segment({ pat: 0, pmt: 0, v: 0, a: 0 }, 216_000, 214_080);
    const m0 = scanTs(chunk0);
    const chunk1 = segment({ pat: 0, pmt: 0, v: 0, a: 0 }, 225_000, 222_000);
    const m1 = scanTs(chunk1);
    const metas = [
      { ccCounts: m0.payloadPackets, ccFirst: m0.firstCc },
      { ccCounts: m1.payloadPackets, ccFirst: m1.firstCc },
    ];
    const offsets = continuityOffsets(metas, 1);
    expect(Object.fromEntries(offsets)).to.deep.equal({ 0: 1, 4096: 1, 256: 4, 257: 2 });
    const out = Buffer.from(chunk1);
    renumberContinuity(out, segmentContinuityTargets(m1.firstCc, offsets));
    expect(ccOf(out, 0x100)).to.deep.equal([4, 4, 5, 6, 7]);
    expect(ccOf(out, 0x101)).to.deep.equal([2, 3]);
    expect(ccOf(out, 0)).to.deep.equal([1]);
    // the null packet is never touched; everything else but byte 3 is unchanged
    expect(ccOf(out, 0x1fff)).to.deep.equal([0]);
    for (let at = 0; at < out.length; at += TS_PACKET_BYTES) {
      expect(out.subarray(at, at + 3)).to.deep.equal(chunk1.subarray(at, at + 3));
      expect(out.subarray(at + 4, at + TS_PACKET_BYTES)).to.deep.equal(
        chunk1.subarray(at + 4, at + TS_PACKET_BYTES),
      );
    }
    // applied again (a retried stitch): nothing changes
    const again = Buffer.from(out);
    renumberContinuity(again, segmentContinuityTargets(m1.firstCc, offsets));
    expect(again).to.deep.equal(out);
  });

  it('wraps mod 16 and honours a chunk that did not start at 0', () => {
    const metas = [
      { ccCounts: { '256': 13 }, ccFirst: { '256': 0 } },
      { ccCounts: { '256': 7 }, ccFirst: { '256': 0 } },
      { ccCounts: { '256': 2 }, ccFirst: { '256': 5 } },
    ];
    expect(continuityOffsets(metas, 1).get(256)).to.equal(13);
    // 13 + 7 = 20 ≡ 4; the chunk starts at 5: −1 ≡ 15
    expect(continuityOffsets(metas, 2).get(256)).to.equal(15);
  });

  it('ContinuityRewriter streams any chunking of the input and lets an observer see the original bytes', async () => {
    const seg = segment({ pat: 0, pmt: 0, v: 0, a: 0 }, 216_000, 214_080);
    const targets = new Map([
      [0x100, 9],
      [0x101, 15],
    ]);
    const seen: Buffer[] = [];
    const pieces = [seg.subarray(0, 100), seg.subarray(100, 1000), seg.subarray(1000)];
    const out: Buffer[] = [];
    for await (const b of Readable.from(pieces).pipe(
      new ContinuityRewriter(targets, (p) => seen.push(Buffer.from(p))),
    ))
      out.push(b as Buffer);
    const result = Buffer.concat(out);
    expect(result.length).to.equal(seg.length);
    expect(Buffer.concat(seen)).to.deep.equal(seg);
    expect(ccOf(result, 0x100)).to.deep.equal([9, 9, 10, 11, 12]);
    expect(ccOf(result, 0x101)).to.deep.equal([15, 0]);
    expect(ccOf(result, 0)).to.deep.equal([0]);
  });
});
