/**
 * Pure: is this the start of a video file? Decided from magic numbers in the first bytes, before
 * anything is stored, so an image, a PDF or random bytes get a 4xx instead of a Video resource
 * whose transcoding can only fail. The transcoder still probes what it gets (a valid container
 * without a video stream fails there, with a reason).
 */

/** Bytes to collect before deciding (three MPEG-TS packets and a bit). */
export const SNIFF_BYTES = 600;

export type Container =
  'mp4' | 'mov' | 'mkv' | 'webm' | 'avi' | 'ts' | 'm2ts' | 'mpeg' | 'flv' | 'asf' | 'ogg' | '3gp';

export type Sniffed = { video: true; container: Container } | { video: false; reason: string };

/** ISO-BMFF brands that hold audio or still images only. */
const NON_VIDEO_BRANDS = new Set([
  'M4A ',
  'M4B ',
  'M4P ',
  'F4A ',
  'F4B ',
  'heic',
  'heix',
  'mif1',
  'msf1',
  'avif',
  'avis',
  'jp2 ',
  'crx ',
]);
/** Top-level QuickTime atoms a .mov may start with other than ftyp. */
const QT_ATOMS = new Set(['moov', 'mdat', 'wide', 'free', 'skip', 'pnot', 'uuid']);

const ascii = (b: Uint8Array, start: number, len: number) =>
  String.fromCharCode(...b.subarray(start, start + len));
const startsWith = (b: Uint8Array, bytes: number[], at = 0) =>
  b.length >= at + bytes.length && bytes.every((x, i) => b[at + i] === x);

function tsPackets(b: Uint8Array, offset: number, stride: number): boolean {
  // every packet start present in the sample carries the 0x47 sync byte; at least two of them
  let seen = 0;
  for (let at = offset; at < b.length; at += stride) {
    if (b[at] !== 0x47) return false;
    seen++;
  }
  return seen >= 2;
}

export function sniffVideo(head: Uint8Array): Sniffed {
  if (head.length < 12) return { video: false, reason: 'the file is too short to be a video' };
  const box = ascii(head, 4, 4);
  if (box === 'ftyp') {
    const brand = ascii(head, 8, 4);
    if (NON_VIDEO_BRANDS.has(brand))
      return {
        video: false,
        reason: `an ISO media file of brand "${brand.trim()}" (audio or image), not a video`,
      };
    if (brand === 'qt  ') return { video: true, container: 'mov' };
    if (brand.startsWith('3g')) return { video: true, container: '3gp' };
    return { video: true, container: 'mp4' };
  }
  if (QT_ATOMS.has(box)) return { video: true, container: 'mov' };
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) {
    const doc = Buffer.from(head.subarray(0, 64)).toString('latin1');
    return { video: true, container: doc.includes('webm') ? 'webm' : 'mkv' };
  }
  if (ascii(head, 0, 4) === 'RIFF' && ascii(head, 8, 4) === 'AVI ') return { video: true, container: 'avi' };
  if (ascii(head, 0, 4) === 'RIFF')
    return { video: false, reason: `a RIFF file of type "${ascii(head, 8, 4).trim()}", not a video` };
  if (head[0] === 0x47 && tsPackets(head, 0, 188)) return { video: true, container: 'ts' };
  if (head[4] === 0x47 && tsPackets(head, 4, 192)) return { video: true, container: 'm2ts' };
  if (startsWith(head, [0x00, 0x00, 0x01, 0xba]) || startsWith(head, [0x00, 0x00, 0x01, 0xb3]))
    return { video: true, container: 'mpeg' };
  if (ascii(head, 0, 3) === 'FLV' && head[3] === 0x01) return { video: true, container: 'flv' };
  if (startsWith(head, [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11]))
    return { video: true, container: 'asf' };
  if (ascii(head, 0, 4) === 'OggS') return { video: true, container: 'ogg' };
  return {
    video: false,
    reason: 'not a recognised video container (mp4, mov, mkv, webm, avi, ts, mpeg, flv, wmv, ogg)',
  };
}
