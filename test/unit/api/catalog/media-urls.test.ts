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

describe('api catalog: signed thumbnail URLs, memoised', function () {
  const key = Buffer.alloc(32, 7);
  const hour = 3600 * 1000;

  it('hands out the same signatures as an unmemoised signer, one HMAC per id and hour', function () {
    let now = Date.UTC(2026, 10, 26, 8, 20, 0);
    const memo = new MediaUrlSigner(key, 24 * 3600, () => now);
    const fresh = () => new MediaUrlSigner(key, 24 * 3600, () => now);
    for (const id of [1, 2, 3, 1, 2]) expect(memo.sign(id)).to.equal(fresh().sign(id));
    expect(memo.memoised).to.equal(3);
    const before = memo.sign(1);
    now += hour; // the next expiry: new signatures, the old hour's memo dropped
    expect(memo.sign(1)).to.not.equal(before);
    expect(memo.sign(1)).to.equal(fresh().sign(1));
    expect(memo.memoised).to.equal(1);
    const { exp, sig } = Object.fromEntries(new URLSearchParams(before)) as { exp: string; sig: string };
    expect(memo.verify(1, exp, sig)).to.equal(true); // an earlier hour's URL still works until it expires
  });

  it('keeps at most memoMax signatures, and verifying adds none', function () {
    const now = Date.UTC(2026, 10, 26, 8, 20, 0);
    const memo = new MediaUrlSigner(key, 3600, () => now, 4);
    for (let id = 1; id <= 10; id++) memo.sign(id);
    expect(memo.memoised).to.equal(4);
    const { exp, sig } = Object.fromEntries(new URLSearchParams(memo.sign(1))) as {
      exp: string;
      sig: string;
    };
    expect(memo.verify(1, exp, sig)).to.equal(true); // 1 was evicted and signed again: still the same value
    expect(new MediaUrlSigner(key, 3600, () => now).verify(1, exp, sig)).to.equal(true);
    for (let id = 100; id < 200; id++) memo.verify(id, exp, sig);
    expect(memo.memoised).to.equal(4);
    expect(memo.verify(2, String(Number(exp) + 3600), sig)).to.equal(false);
    expect(memo.memoised).to.equal(4);
  });
});
