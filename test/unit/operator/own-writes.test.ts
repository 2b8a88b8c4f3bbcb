/** Read-your-writes with opaque resourceVersions: equality with what the own write returned, never order. */
import { expect } from 'chai';
import { OwnWrites } from '../../../operator/video/own-writes.js';
import { video } from './fixtures.js';

const KEY = 'media/demo';
const at = (resourceVersion: string, generation = 1) => video({ resourceVersion, generation });

describe('operator/video/own-writes', () => {
  let t = 0;
  const writes = () => new OwnWrites(30_000, () => t);
  beforeEach(() => (t = 1_000));

  it('stands in for the cache until the watch delivers the very version the write returned', () => {
    const w = writes();
    w.remember(at('100'));
    expect(w.latest(KEY, at('99'))?.metadata.resourceVersion).to.equal('100');
    w.observed(at('100'));
    expect(w.size).to.equal(0);
    expect(w.latest(KEY, at('100'))?.metadata.resourceVersion).to.equal('100');
  });

  it('never orders resourceVersions: a "smaller" or non-numeric version is just another version', () => {
    const w = writes();
    w.remember(at('9'));
    // numerically larger, but not the written one: the own write still stands (a 409 settles it)
    expect(w.latest(KEY, at('10'))?.metadata.resourceVersion).to.equal('9');
    const opaque = writes();
    opaque.remember(at('b'));
    expect(opaque.latest(KEY, at('a'))?.metadata.resourceVersion).to.equal('b');
    opaque.observed(at('c')); // another version: not the written one
    expect(opaque.size).to.equal(1);
    opaque.observed(at('b'));
    expect(opaque.size).to.equal(0);
  });

  it('gives way to a cache with a higher generation, another uid, or after the TTL', () => {
    const w = writes();
    w.remember(at('5', 1));
    expect(w.latest(KEY, at('4', 2))?.metadata.resourceVersion).to.equal('4');
    expect(w.size).to.equal(0);
    w.remember(at('5'));
    const other = video({ resourceVersion: '4', uid: 'another' });
    expect(w.latest(KEY, other)?.metadata.uid).to.equal('another');
    w.remember(at('5'));
    t += 30_001;
    expect(w.latest(KEY, at('4'))?.metadata.resourceVersion).to.equal('4');
  });

  it('forgets a deleted Video, and answers undefined when the cache has none', () => {
    const w = writes();
    w.remember(at('5'));
    expect(w.latest(KEY, undefined)).to.equal(undefined);
    w.remember(at('5'));
    w.forget(KEY);
    expect(w.size).to.equal(0);
  });
});
