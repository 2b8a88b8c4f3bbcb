import { expect } from 'chai';
import type { Request, Response } from 'express';
import { csrfProtection } from '../../../api/middleware/csrf.js';
import { AppError } from '../../../api/errors.js';

/** Runs the middleware on a fake request and returns the error it passed on, if any. */
function run(opts: {
  method?: string;
  headers?: Record<string, string>;
  cookies?: Record<string, string>;
}): AppError | undefined {
  const headers = Object.fromEntries(
    Object.entries(opts.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const req = {
    method: opts.method ?? 'POST',
    protocol: 'https',
    cookies: opts.cookies ?? {},
    get: (name: string) => headers[name.toLowerCase()],
  } as unknown as Request;
  let passed: unknown = 'not called';
  csrfProtection(['https://app.example'])(req, {} as Response, (err?: unknown) => {
    passed = err;
  });
  expect(passed).to.not.equal('not called');
  return passed as AppError | undefined;
}

describe('api/middleware/csrf', function () {
  const session = { refresh_token: 'x' };

  it('lets safe methods through whatever their origin', function () {
    expect(run({ method: 'GET', headers: { Origin: 'https://evil.example' }, cookies: session })).to.equal(
      undefined,
    );
  });
  it('accepts a trusted Origin and the API own origin', function () {
    expect(run({ headers: { Origin: 'https://app.example' }, cookies: session })).to.equal(undefined);
    expect(
      run({ headers: { Origin: 'https://api.example', Host: 'api.example' }, cookies: session }),
    ).to.equal(undefined);
  });
  it('refuses foreign and "null" origins, with or without cookies (login CSRF)', function () {
    expect(run({ headers: { Origin: 'https://evil.example' } })?.status).to.equal(403);
    expect(run({ headers: { Origin: 'null' }, cookies: session })?.status).to.equal(403);
    expect(run({ headers: { Origin: 'https://app.example.evil.example' } })?.status).to.equal(403);
  });
  it('falls back to the Referer when there is no Origin', function () {
    expect(run({ headers: { Referer: 'https://app.example/login' }, cookies: session })).to.equal(undefined);
    expect(run({ headers: { Referer: 'https://evil.example/x' }, cookies: session })?.code).to.equal(
      'csrf_failed',
    );
  });
  it('refuses cross-site fetch metadata without an Origin', function () {
    expect(run({ headers: { 'Sec-Fetch-Site': 'cross-site' } })?.status).to.equal(403);
  });
  it('without Origin or Referer: allows cookie-less clients, refuses cookie-carrying ones', function () {
    expect(run({})).to.equal(undefined);
    expect(run({ cookies: session })?.status).to.equal(403);
    expect(run({ cookies: { access_token: 'y' } })?.status).to.equal(403);
  });
});
