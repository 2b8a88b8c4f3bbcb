import { expect } from 'chai';
import { fieldErrors } from '../../../../api/middleware/validate.js';
import { uploadFieldsSchema } from '../../../../api/catalog/routes/upload.js';

describe('api catalog: upload fields', function () {
  it('trims, defaults description and category, keeps the title', function () {
    expect(uploadFieldsSchema.parse({ title: '  A title ' })).to.deep.equal({
      title: 'A title',
      description: '',
      category: '',
    });
  });

  it('answers DRF-shaped field errors for a missing, blank or too long field', function () {
    const missing = uploadFieldsSchema.safeParse({});
    expect(missing.success).to.equal(false);
    if (!missing.success)
      expect(fieldErrors(missing.error)).to.deep.equal({ title: ['This field is required.'] });
    const blank = uploadFieldsSchema.safeParse({ title: '   ', category: 'x'.repeat(101) });
    if (!blank.success) {
      expect(fieldErrors(blank.error)).to.deep.equal({
        title: ['This field may not be blank.'],
        category: ['Ensure this field has no more than 100 characters.'],
      });
    } else expect.fail('blank title accepted');
  });
});
