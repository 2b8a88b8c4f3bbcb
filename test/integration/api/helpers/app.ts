/** Builds the real app (createApp) for a test: real PostgreSQL, real SMTP (maildev), test-friendly config. */
import type { Express } from 'express';
import supertest from 'supertest';
import { loadConfig } from '../../../../common/config/index.js';
import { createLogger } from '../../../../common/logging/index.js';
import { createApp, type VideoflixApp } from '../../../../api/app.js';
import { apiSchema, type ApiConfig } from '../../../../api/config.js';
import { createSmtpMailer, type Mailer } from '../../../../api/infra/mailer.js';
import type { TestDatabase } from './db.js';

export const FRONTEND = 'http://frontend.test:4200';

export interface TestApp {
  app: VideoflixApp;
  config: ApiConfig;
  mailer: Mailer;
  /** supertest agent keeping cookies, sending the frontend's Origin (as the browser would). */
  agent(): supertest.Agent;
  /** Milliseconds added to the app's clock (to expire one-time tokens and sessions). */
  clock: { offsetMs: number };
}

export function smtpEnv(): { SMTP_HOST: string; SMTP_PORT: string } {
  const { SMTP_HOST, SMTP_PORT } = process.env;
  if (!SMTP_HOST || !SMTP_PORT)
    throw new Error('SMTP_HOST/SMTP_PORT are not set: run through the integration hooks');
  return { SMTP_HOST, SMTP_PORT };
}

/** Overrides of the test settings; `undefined` removes a variable (to see the API's own default). */
export type ConfigOverrides = Record<string, string | undefined>;

export function testConfig(db: TestDatabase, overrides: ConfigOverrides = {}): ApiConfig {
  return loadConfig(apiSchema, {
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    JWT_SECRET: 'integration-test-secret-0123456789-abcdefghijklmnop',
    BCRYPT_COST: '4',
    FRONTEND_URL: FRONTEND,
    CORS_ALLOWED_ORIGINS: FRONTEND,
    // supertest speaks plain HTTP: the development setting (the default, Secure, is tested in security/)
    AUTH_COOKIE_SECURE: 'false',
    // the rate limits count in the test file's database, shared by every app built on it: tests of a
    // limit set a low budget and send from an address of their own (X-Forwarded-For)
    RATE_LIMIT_LOGIN_MAX: '1000',
    RATE_LIMIT_LOGIN_IP_MAX: '1000',
    RATE_LIMIT_LOGIN_SLOWDOWN_AFTER: '1000',
    RATE_LIMIT_REGISTER_MAX: '1000',
    RATE_LIMIT_PASSWORD_RESET_MAX: '1000',
    RATE_LIMIT_PASSWORD_CHANGE_MAX: '1000',
    RATE_LIMIT_PASSWORD_CONFIRM_MAX: '1000',
    RATE_LIMIT_ACTIVATION_MAX: '1000',
    RATE_LIMIT_REFRESH_MAX: '1000',
    SMTP_TIMEOUT_MS: '5000',
    ...smtpEnv(),
    ...overrides,
  });
}

export function buildTestApp(db: TestDatabase, overrides: ConfigOverrides = {}): TestApp {
  const config = testConfig(db, overrides);
  const logger = createLogger('api-test', { level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const mailer = createSmtpMailer({
    host: config.SMTP_HOST,
    port: config.SMTP_PORT,
    secure: false,
    requireTls: false,
    timeoutMs: config.SMTP_TIMEOUT_MS,
    from: config.MAIL_FROM,
  });
  const clock = { offsetMs: 0 };
  const app = createApp({
    config,
    sequelize: db.sequelize,
    models: db.models,
    mailer,
    logger,
    now: () => Date.now() + clock.offsetMs,
  });
  return {
    app,
    config,
    mailer,
    clock,
    agent: () => supertest.agent(app as Express).set('Origin', FRONTEND),
  };
}

let counter = 0;
/** A unique address per test, so the shared inbox can be filtered by recipient. */
export function uniqueEmail(tag = 'user'): string {
  counter += 1;
  return `${tag}.${process.pid}.${Date.now().toString(36)}.${counter}@example.test`;
}

export const GOOD_PASSWORD = 'lantern-orbit-velvet-42';
