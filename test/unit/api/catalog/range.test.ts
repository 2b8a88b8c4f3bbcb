import { expect } from 'chai';
import { parseRange } from '../../../../api/catalog/routes/http.js';

describe('api catalog: Range header', function () {
  it('reads one byte range, open-ended or closed', function () {
    expect(parseRange('bytes=0-99')).to.deep.equal({ start: 0, end: 99 });
    expect(parseRange('bytes=100-')).to.deep.equal({ start: 100 });
    expect(parseRange(' bytes=5-5 ')).to.deep.equal({ start: 5, end: 5 });
  });
  it('ignores everything else (the whole object is then served)', function () {
    for (const h of [
      undefined,
      '',
      'bytes=-10',
      'bytes=0-1,5-9',
      'bytes=9-1',
      'lines=1-2',
      'bytes=a-b',
      'bytes=1-2-3',
    ]) {
      expect(parseRange(h), String(h)).to.equal(undefined);
    }
  });
});
