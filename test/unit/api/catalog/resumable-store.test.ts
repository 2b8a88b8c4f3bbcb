import { expect } from 'chai';
import { consecutiveParts } from '../../../../api/catalog/routes/resumable-store.js';

const P = 8;
const part = (n: number, size = P) => ({ PartNumber: n, Size: size, ETag: `"e${n}"` });

describe('resumable uploads: the parts that count (consecutiveParts)', () => {
  it('keeps a gap-free run of full parts and a short last part', () => {
    const parts = [part(1), part(2), part(3, 3)];
    expect(consecutiveParts(parts, P)).to.deep.equal(parts);
  });

  it('stops at the first gap: a part that landed after an earlier one failed is an orphan', () => {
    // parts 1 and 3 on S3, part 2 failed (or its process died) while 3 was sent alongside
    expect(consecutiveParts([part(1), part(3), part(4, 2)], P)).to.deep.equal([part(1)]);
  });

  it('counts nothing when part 1 is missing', () => {
    expect(consecutiveParts([part(2), part(3)], P)).to.deep.equal([]);
    expect(consecutiveParts([], P)).to.deep.equal([]);
  });

  it('stops after a short part: only the last part of an upload may be short', () => {
    expect(consecutiveParts([part(1), part(2, 5), part(3)], P)).to.deep.equal([part(1), part(2, 5)]);
  });

  it('treats a part without a size as short (ends the run there)', () => {
    expect(consecutiveParts([part(1), { PartNumber: 2 }, part(3)], P)).to.deep.equal([
      part(1),
      { PartNumber: 2 },
    ]);
  });
});
