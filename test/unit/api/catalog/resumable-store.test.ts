import { expect } from 'chai';
import { consecutiveParts } from '../../../../api/catalog/routes/resumable-store.js';

const part = (n: number, size = 8) => ({ PartNumber: n, Size: size, ETag: `"e${n}"` });

describe('resumable uploads: the parts that count (consecutiveParts)', () => {
  it('keeps a gap-free run from part 1, the short last part included', () => {
    const parts = [part(1), part(2), part(3, 3)];
    expect(consecutiveParts(parts)).to.deep.equal(parts);
  });

  it('stops at the first gap: a part that landed after an earlier one failed is an orphan', () => {
    // parts 1, 3 and 4 on S3; part 2 failed (or its process died) while 3 and 4 were sent alongside
    expect(consecutiveParts([part(1), part(3), part(4, 2)])).to.deep.equal([part(1)]);
  });

  it('counts nothing when part 1 is missing', () => {
    expect(consecutiveParts([part(2), part(3)])).to.deep.equal([]);
    expect(consecutiveParts([])).to.deep.equal([]);
  });

  it('keeps a short part inside the run (an upload begun before the fixed part size), so it can go on', () => {
    const parts = [part(1), part(2, 6), part(3)];
    expect(consecutiveParts(parts)).to.deep.equal(parts);
  });
});
