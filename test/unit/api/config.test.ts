import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../../common/config/index.js';
import { readFileSync } from 'node:fs';
import {
  API_VARIABLES,
  apiSchema,
  configWarnings,
  DEV_FRONTEND_ORIGIN,
  DEV_JWT_SECRET,
} from '../../../api/config.js';

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
      loadConfig(apiSchema, {
        ...base,
        NODE_ENV: 'production',
        JWT_SECRET: strong,
        FRONTEND_URL: 'https://videoflix.example',
      }).JWT_SECRET,
    ).to.equal(strong);
  });

  it('refuses SameSite=None without Secure, a wildcard CORS origin, and link templates without placeholders', function () {
    expect(() =>
      loadConfig(apiSchema, { ...base, AUTH_COOKIE_SAMESITE: 'None', AUTH_COOKIE_SECURE: 'false' }),
    ).to.throw(/SameSite=None/);
    expect(() => loadConfig(apiSchema, { ...base, CORS_ALLOWED_ORIGINS: '*' })).to.throw(
      /CORS_ALLOWED_ORIGINS/,
    );
    expect(() => loadConfig(apiSchema, { ...base, CORS_ALLOWED_ORIGINS: 'https://a.example/path' })).to.throw(
      /not an origin/,
    );
    expect(() => loadConfig(apiSchema, { ...base, ACTIVATION_PATH: '/activate' })).to.throw(/\{uid\}/);
    expect(() => loadConfig(apiSchema, { ...base, BCRYPT_COST: '3' })).to.throw(/BCRYPT_COST/);
  });

  describe('production defaults (issue 21)', function () {
    const prod = {
      ...base,
      NODE_ENV: 'production',
      JWT_SECRET: strong,
      FRONTEND_URL: 'https://videoflix.example',
    };

    it('cookies are Secure by default; plain HTTP is a development setting, refused in production without a second flag', function () {
      expect(loadConfig(apiSchema, base).AUTH_COOKIE_SECURE).to.equal(true);
      expect(loadConfig(apiSchema, prod).AUTH_COOKIE_SECURE).to.equal(true);
      expect(loadConfig(apiSchema, { ...base, AUTH_COOKIE_SECURE: 'false' }).AUTH_COOKIE_SECURE).to.equal(
        false,
      );
      expect(() => loadConfig(apiSchema, { ...prod, AUTH_COOKIE_SECURE: 'false' })).to.throw(
        ConfigError,
        /AUTH_COOKIE_SECURE: false is refused when NODE_ENV=production/,
      );
      const c = loadConfig(apiSchema, {
        ...prod,
        AUTH_COOKIE_SECURE: 'false',
        AUTH_COOKIE_ALLOW_INSECURE: 'true',
      });
      expect(c.AUTH_COOKIE_SECURE).to.equal(false);
      expect(configWarnings(c).join('\n')).to.match(/AUTH_COOKIE_SECURE=false in production/);
    });

    it('trusts the development frontend only outside production; production needs FRONTEND_URL', function () {
      const dev = loadConfig(apiSchema, base);
      expect(dev.FRONTEND_URL).to.equal(DEV_FRONTEND_ORIGIN);
      expect(dev.CORS_ALLOWED_ORIGINS).to.deep.equal([DEV_FRONTEND_ORIGIN]);
      expect(loadConfig(apiSchema, { ...base, NODE_ENV: 'test' }).CORS_ALLOWED_ORIGINS).to.deep.equal([
        DEV_FRONTEND_ORIGIN,
      ]);
      const p = loadConfig(apiSchema, prod);
      expect(p.CORS_ALLOWED_ORIGINS).to.deep.equal([]);
      expect(p.FRONTEND_URL).to.equal('https://videoflix.example');
      const { FRONTEND_URL: _, ...noFrontend } = prod;
      expect(() => loadConfig(apiSchema, noFrontend)).to.throw(ConfigError, /FRONTEND_URL: required/);
      // set explicitly, the development origin is what it says
      expect(
        loadConfig(apiSchema, { ...prod, CORS_ALLOWED_ORIGINS: DEV_FRONTEND_ORIGIN }).CORS_ALLOWED_ORIGINS,
      ).to.deep.equal([DEV_FRONTEND_ORIGIN]);
    });

    it('refuses BCRYPT_COST below 10 in production (tests may go lower)', function () {
      expect(() => loadConfig(apiSchema, { ...prod, BCRYPT_COST: '9' })).to.throw(
        ConfigError,
        /BCRYPT_COST: at least 10/,
      );
      expect(loadConfig(apiSchema, { ...prod, BCRYPT_COST: '10' }).BCRYPT_COST).to.equal(10);
      expect(loadConfig(apiSchema, { ...base, NODE_ENV: 'test', BCRYPT_COST: '4' }).BCRYPT_COST).to.equal(4);
    });

    it('answers no activation token at registration unless asked, and warns when asked', function () {
      const c = loadConfig(apiSchema, base);
      expect(c.REGISTER_RETURNS_ACTIVATION_TOKEN).to.equal(false);
      expect(configWarnings({ ...c, AUTH_COOKIE_SECURE: true })).to.deep.equal([]);
      const on = loadConfig(apiSchema, { ...base, REGISTER_RETURNS_ACTIVATION_TOKEN: 'true' });
      expect(configWarnings(on).join('\n')).to.match(/REGISTER_RETURNS_ACTIVATION_TOKEN=true/);
    });

    it('has a 10 s refresh grace window by default (0 turns it off, at most 60)', function () {
      expect(loadConfig(apiSchema, base).REFRESH_GRACE_SECONDS).to.equal(10);
      expect(loadConfig(apiSchema, { ...base, REFRESH_GRACE_SECONDS: '0' }).REFRESH_GRACE_SECONDS).to.equal(
        0,
      );
      expect(() => loadConfig(apiSchema, { ...base, REFRESH_GRACE_SECONDS: '61' })).to.throw(
        /REFRESH_GRACE_SECONDS/,
      );
    });
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
