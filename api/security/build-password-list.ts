/**
 * Builds `breached-passwords.txt.br` (see README.md beside this file) from plain-text lists, one
 * password a line (`.gz` files are gunzipped; `#` lines skipped):
 *   node --import=tsx api/security/build-password-list.ts OUT.txt.br LIST...
 * Entries are trimmed and lower-cased as validatePassword compares them, kept when they have at
 * least MIN_PASSWORD_LENGTH characters (shorter ones fail the length rule anyway) and are valid
 * UTF-8, then de-duplicated, sorted by their UTF-8 bytes (the order the lookup's binary search
 * uses) and brotli-compressed.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, gunzipSync } from 'node:zlib';
import { MIN_PASSWORD_LENGTH } from './passwords.js';

const [out, ...inputs] = process.argv.slice(2);
if (!out || inputs.length === 0) {
  process.stderr.write('usage: build-password-list.ts OUT.txt.br LIST...\n');
  process.exit(2);
}
const seen = new Set<string>();
for (const file of inputs) {
  const raw = readFileSync(file);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(
    file.endsWith('.gz') ? gunzipSync(raw) : raw,
  );
  for (const line of text.split('\n')) {
    const p = line.trim().toLowerCase();
    if (!p || p.startsWith('#') || p.includes('\uFFFD') || [...p].length < MIN_PASSWORD_LENGTH) continue;
    seen.add(p);
  }
}
const sorted = [...seen].map((p) => Buffer.from(p, 'utf8')).sort(Buffer.compare);
const body = Buffer.from(`${sorted.map((b) => b.toString('utf8')).join('\n')}\n`, 'utf8');
const packed = brotliCompressSync(body, {
  params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24 },
});
writeFileSync(out, packed);
process.stdout.write(`${sorted.length} passwords, ${body.length} bytes, ${packed.length} compressed\n`);
