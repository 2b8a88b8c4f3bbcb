import { expect } from 'chai';
import { activationMail, buildLink, passwordResetMail } from '../../../api/services/mails.js';
import { safeError, sanitizePath } from '../../../api/errors.js';

describe('api/services/mails', function () {
  it('builds frontend links from the configured templates', function () {
    expect(
      buildLink('https://app.example/', '/activate/index.html?uid={uid}&token={token}', 'MQ', 'abc-123'),
    ).to.equal('https://app.example/activate/index.html?uid=MQ&token=abc-123');
    expect(buildLink('https://app.example', 'activate/{uid}/{token}/', 'MQ', 'abc-123')).to.equal(
      'https://app.example/activate/MQ/abc-123/',
    );
  });
  it('puts the link into the text and (escaped) into the HTML', function () {
    const link = 'https://app.example/a?uid=MQ&token=t';
    const m = activationMail('u@example.com', link);
    expect(m.subject).to.equal('Confirm your email');
    expect(m.text).to.contain(link);
    expect(m.html).to.contain('href="https://app.example/a?uid=MQ&amp;token=t"');
    const r = passwordResetMail('u@example.com', link, 24);
    expect(r.subject).to.equal('Reset your password');
    expect(r.text).to.contain(link).and.contain('24 hours');
  });
});

describe('api/errors: paths in logs', function () {
  it('blanks the one-time tokens carried in paths', function () {
    expect(sanitizePath('/api/activate/MQ/abc-def/')).to.equal('/api/activate/:uidb64/:token/');
    expect(sanitizePath('/api/password_confirm/MQ/abc-def/')).to.equal(
      '/api/password_confirm/:uidb64/:token/',
    );
    expect(sanitizePath('/api/login/')).to.equal('/api/login/');
  });
});

describe('api/errors: errors in logs', function () {
  it('keeps name, message and stack, never attached data such as SQL parameters', function () {
    const err = Object.assign(new Error('insert failed'), {
      name: 'SequelizeDatabaseError',
      parameters: ['user@example.com', 'bcrypt_sha256$$2b$12$secret'],
      sql: 'INSERT INTO users ...',
    });
    const logged = safeError(err);
    expect(logged).to.include({ name: 'SequelizeDatabaseError', message: 'insert failed' });
    expect(JSON.stringify(logged)).to.not.contain('user@example.com').and.not.contain('bcrypt_sha256');
    expect(safeError('text')).to.deep.equal({ message: 'text' });
  });
});
