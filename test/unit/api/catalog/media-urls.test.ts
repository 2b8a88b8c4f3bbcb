import { expect } from 'chai';
import { MediaUrlSigner } from '../../../../api/security/media-urls.js';

describe('api catalog: signed thumbnail URLs', function () {
  const key = Buffer.alloc(32, 7);
  let now = Date.UTC(2026, 10, 26, 8, 20, 0);
  const signer = new MediaUrlSigner(key, 24 * 3600, () => now);
  const parse = (q: string) => Object.fromEntries(new URLSearchParams(q)) as { exp: string; sig: string };

  it('signs id and an expiry rounded up to the hour, stable within that hour', function () {
    const a = parse(signer.sign(5));
    expect(Number(a.exp) % 3600).to.equal(0);
    expect(Number(a.exp) * 1000 - now).to.be.within(24 * 3600 * 1000, 25 * 3600 * 1000);
    now += 10 * 60 * 1000;
    expect(parse(signer.sign(5))).to.deep.equal(a);
    now -= 10 * 60 * 1000;
  });

  it('verifies its own signature, for that id only', function () {
    const { exp, sig } = parse(signer.sign(5));
    expect(signer.verify(5, exp, sig)).to.equal(true);
    expect(signer.verify(6, exp, sig)).to.equal(false);
    expect(signer.verify(5, String(Number(exp) + 3600), sig)).to.equal(false);
    const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    expect(signer.verify(5, exp, flipped)).to.equal(false);
    expect(new MediaUrlSigner(Buffer.alloc(32, 8), 3600, () => now).verify(5, exp, sig)).to.equal(false);
  });

  it('refuses expired, missing and malformed values', function () {
    const { exp, sig } = parse(signer.sign(5));
    const later = new MediaUrlSigner(key, 24 * 3600, () => Number(exp) * 1000 + 1);
    expect(later.verify(5, exp, sig)).to.equal(false);
    expect(signer.verify(5, undefined, sig)).to.equal(false);
    expect(signer.verify(5, exp, undefined)).to.equal(false);
    expect(signer.verify(5, [exp], sig)).to.equal(false);
    expect(signer.verify(5, '1e12', sig)).to.equal(false);
    expect(signer.verify(5, exp, `${sig}=`)).to.equal(false);
  });
});
