/** The admin console's router: files with their content types, a strict CSP, nothing inline, nothing else served. */
import { expect } from 'chai';
import express from 'express';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import supertest from 'supertest';
import {
  ADMIN_CONSOLE_CSP,
  adminConsoleRouter,
  defaultAdminConsoleDir,
} from '../../../api/routes/admin-console/index.js';

const DIR = defaultAdminConsoleDir();
const MODULES = readdirSync(DIR).filter((f) => f.endsWith('.js'));
/** GET url, the body as text whatever its content type. */
const getText = (url: string) =>
  supertest(app)
    .get(url)
    .buffer(true)
    .parse((res, cb) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => cb(null, text));
    });
const app = express().use(adminConsoleRouter());
const directives = (csp: string) =>
  Object.fromEntries(
    csp.split(';').map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values];
    }),
  );

describe('api: admin console router', () => {
  for (const [url, type, file] of [
    ['/admin/', 'text/html; charset=utf-8', 'index.html'],
    ['/admin/app.js', 'text/javascript; charset=utf-8', 'app.js'],
    ['/admin/style.css', 'text/css; charset=utf-8', 'style.css'],
  ] as const) {
    it(`serves ${url} as ${type} with the file's bytes and the CSP`, async () => {
      const res = await getText(url).expect(200);
      expect(res.headers['content-type']).to.equal(type);
      expect(res.body as string).to.equal(readFileSync(path.join(DIR, file), 'utf8'));
      expect(res.headers['content-security-policy']).to.equal(ADMIN_CONSOLE_CSP);
      expect(res.headers['cache-control']).to.equal('no-cache');
    });
  }

  it('serves hls.js from the hls.js package (no CDN)', async () => {
    const res = await getText('/admin/vendor/hls.min.js').expect(200);
    expect(res.headers['content-type']).to.equal('text/javascript; charset=utf-8');
    expect((res.body as string).length).to.be.greaterThan(100_000);
    expect(res.body as string).to.include('Hls');
  });

  it('serves tus-js-client from its package (the resumable uploads; no CDN)', async () => {
    const res = await getText('/admin/vendor/tus.min.js').expect(200);
    expect(res.headers['content-type']).to.equal('text/javascript; charset=utf-8');
    expect(res.headers['content-security-policy']).to.equal(ADMIN_CONSOLE_CSP);
    expect(res.body as string).to.include('tus');
    expect(res.body as string).to.not.match(/\beval\(|new Function\(/);
  });

  it('redirects /admin to /admin/ and answers HEAD without a body', async () => {
    await supertest(app).get('/admin').expect(301).expect('Location', '/admin/');
    const head = await supertest(app).head('/admin/app.js').expect(200);
    expect(Number(head.headers['content-length'])).to.be.greaterThan(1000);
  });

  it('serves nothing else under /admin/ (no directory listing, no traversal, case-sensitive)', async () => {
    for (const url of [
      '/admin/index.html',
      '/admin/../package.json',
      '/admin/%2e%2e/package.json',
      '/admin/vendor/',
      '/admin/vendor/hls.js',
      '/admin/vendor/tus.js',
      '/admin/APP.JS',
      '/admin/app.js/',
      '/admin/.hidden.js',
      '/admin/README.md',
    ]) {
      const res = await supertest(app).get(url);
      expect(res.status, url).to.equal(404);
    }
  });

  it('has a CSP without inline script or style, allowing blob: media and workers for hls.js', () => {
    const d = directives(ADMIN_CONSOLE_CSP);
    expect(d['default-src']).to.deep.equal(["'self'"]);
    expect(d['script-src']).to.deep.equal(["'self'"]);
    expect(d['style-src']).to.deep.equal(["'self'"]);
    expect(d['media-src']).to.deep.equal(["'self'", 'blob:']);
    expect(d['worker-src']).to.deep.equal(["'self'", 'blob:']);
    expect(d['object-src']).to.deep.equal(["'none'"]);
    expect(d['frame-ancestors']).to.deep.equal(["'none'"]);
    expect(ADMIN_CONSOLE_CSP).not.to.match(/unsafe-inline|unsafe-eval|\*/);
  });

  it('has a page that the CSP does not break: external scripts only, no inline handlers or styles', () => {
    const html = readFileSync(path.join(DIR, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map((m) => /\bsrc="([^"]+)"/.exec(m[1]!)?.[1])).to.deep.equal([
      'vendor/hls.min.js',
      'vendor/tus.min.js',
      'app.js',
    ]);
    for (const m of scripts) expect(m[2]!.trim(), 'inline script').to.equal('');
    expect(html).not.to.match(/\son[a-z]+=/i);
    expect(html).not.to.match(/\sstyle=|<style/i);
    expect(html).not.to.match(/https?:\/\//); // nothing from another origin
    expect(html).to.match(/<script type="module" src="app.js"><\/script>/);
    for (const file of MODULES) {
      const js = readFileSync(path.join(DIR, file), 'utf8');
      expect(js, file).not.to.match(/\beval\(|new Function|innerHTML/);
    }
  });

  it('serves every ES module of the console, and each import names one of them', async () => {
    expect(MODULES).to.include.members(['app.js', 'api.js', 'videos.js', 'upload.js', 'player.js']);
    for (const file of MODULES) {
      const res = await getText(`/admin/${file}`).expect(200);
      expect(res.headers['content-type'], file).to.equal('text/javascript; charset=utf-8');
      expect(res.headers['content-security-policy'], file).to.equal(ADMIN_CONSOLE_CSP);
      for (const m of (res.body as string).matchAll(/^import [^;]+ from '([^']+)';$/gm))
        expect(MODULES, `${file} imports ${m[1]}`).to.include(m[1]!.replace(/^\.\//, ''));
    }
  });
});
