import { expect } from 'chai';
import { TtlCache } from '../../../api/services/ttl-cache.js';

describe('api: TtlCache (bounded, expiring)', function () {
  let now = 1_000_000;
  const clock = () => now;

  it('answers an entry until its time to live has passed, then forgets it', function () {
    const c = new TtlCache<string, number>({ max: 10, ttlMs: 5000, now: clock });
    c.set('a', 1);
    now += 4999;
    expect(c.get('a')).to.equal(1);
    now += 1;
    expect(c.get('a')).to.equal(undefined);
    expect(c.size).to.equal(0);
  });

  it('takes a time to live per entry; zero stores nothing', function () {
    const c = new TtlCache<string, number>({ max: 10, ttlMs: 5000, now: clock });
    c.set('short', 1, 10);
    c.set('none', 2, 0);
    expect(c.get('none')).to.equal(undefined);
    now += 10;
    expect(c.get('short')).to.equal(undefined);
  });

  it('keeps at most `max` entries, dropping the least recently used', function () {
    const c = new TtlCache<number, string>({ max: 3, ttlMs: 60_000, now: clock });
    c.set(1, 'one');
    c.set(2, 'two');
    c.set(3, 'three');
    expect(c.get(1)).to.equal('one'); // 1 is now the most recently used: 2 goes first
    c.set(4, 'four');
    expect(c.size).to.equal(3);
    expect(c.get(2)).to.equal(undefined);
    expect([c.get(1), c.get(3), c.get(4)]).to.deep.equal(['one', 'three', 'four']);
    for (let i = 10; i < 1000; i++) c.set(i, String(i));
    expect(c.size).to.equal(3);
  });

  it('forgets on delete and clear, and replaces a value set again', function () {
    const c = new TtlCache<string, number>({ max: 10, ttlMs: 60_000, now: clock });
    c.set('a', 1);
    c.set('a', 2);
    expect(c.get('a')).to.equal(2);
    c.set('b', 3);
    c.delete('a');
    expect(c.get('a')).to.equal(undefined);
    c.clear();
    expect(c.get('b')).to.equal(undefined);
    expect(c.size).to.equal(0);
  });

  it('refuses a bound below one', function () {
    expect(() => new TtlCache({ max: 0, ttlMs: 1 })).to.throw(RangeError);
  });
});
