import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../../common/config/index.js';
import { readFileSync } from 'node:fs';
import { API_VARIABLES, apiSchema, DEV_JWT_SECRET } from '../../../api/config.js';

describe('api/config', function () {
  const base = { DATABASE_URL: 'postgres://u:p@localhost/db' };
  const strong = 'k3J9x!vQ2mZ8pL0rT6wY4nB1cF5hD7sA-extra';

  it('has safe defaults (cost 12, Lax cookies, 15 min access, 7 day refresh)', function () {
    const c = loadConfig(apiSchema, base);
    expect(c.BCRYPT_COST).to.equal(12);
    expect(c.AUTH_COOKIE_SAMESITE).to.equal('lax');
    expect(c.ACCESS_TOKEN_TTL).to.equal(900);
    expect(c.REFRESH_TOKEN_TTL).to.equal(7 * 24 * 3600);
    expect(c.JWT_SECRET).to.equal(DEV_JWT_SECRET);
  });

  it('refuses to start in production without a JWT secret or with a weak one', function () {
    expect(() => loadConfig(apiSchema, { ...base, NODE_ENV: 'production' })).to.throw(
      ConfigError,
      /JWT_SECRET: required/,
    );
    for (const weak of ['secret', 'short-secret', DEV_JWT_SECRET, 'a'.repeat(40)]) {
      expect(
        () => loadConfig(apiSchema, { ...base, NODE_ENV: 'production', JWT_SECRET: weak }),
        weak,
      ).to.throw(ConfigError, /JWT_SECRET/);
    }
    expect(
      loadConfig(apiSchema, { ...base, NODE_ENV: 'production', JWT_SECRET: strong }).JWT_SECRET,
    ).to.equal(strong);
  });

  it('refuses SameSite=None without Secure, a wildcard CORS origin, and link templates without placeholders', function () {
    expect(() => loadConfig(apiSchema, { ...base, AUTH_COOKIE_SAMESITE: 'None' })).to.throw(/SameSite=None/);
    expect(() => loadConfig(apiSchema, { ...base, CORS_ALLOWED_ORIGINS: '*' })).to.throw(
      /CORS_ALLOWED_ORIGINS/,
    );
    expect(() => loadConfig(apiSchema, { ...base, CORS_ALLOWED_ORIGINS: 'https://a.example/path' })).to.throw(
      /not an origin/,
    );
    expect(() => loadConfig(apiSchema, { ...base, ACTIVATION_PATH: '/activate' })).to.throw(/\{uid\}/);
    expect(() => loadConfig(apiSchema, { ...base, BCRYPT_COST: '3' })).to.throw(/BCRYPT_COST/);
  });

  it('.env.example documents every variable the API reads', function () {
    const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
    const documented = new Set([...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    const missing = API_VARIABLES.filter((v) => !documented.has(v));
    expect(missing).to.deep.equal([]);
    expect(API_VARIABLES).to.include('JWT_SECRET').and.include('DATABASE_URL');
  });

  it('lists every problem at once', function () {
    try {
      loadConfig(apiSchema, { NODE_ENV: 'production', PORT: 'x' });
      expect.fail('should throw');
    } catch (err) {
      const issues = (err as ConfigError).issues.join('\n');
      expect(issues).to.contain('DATABASE_URL').and.contain('PORT');
    }
  });
});
