/* Videoflix admin console: native ES modules, no framework, no build step, no inline code (strict CSP).
 * This entry point holds the session (sign in, sign out, the start) and wires the parts:
 *   api.js (HTTP client), dom.js (helpers), videos.js (the polled table), upload.js (the form), player.js (HLS).
 * It talks to the API on the same origin with its HTTP-only auth cookies:
 *   POST /api/login/, POST /api/logout/, POST /api/token/refresh/, GET /api/me/
 *   GET/POST /api/admin/videos/, DELETE /api/admin/videos/<id>/, POST /api/admin/videos/<id>/retry/
 *   GET /api/video/<id>/master.m3u8 (hls.js; the playlists resolve through the API's HLS routes) */
import { api, authed, detailOf } from './api.js';
import { $ } from './dom.js';
import { createPlayer } from './player.js';
import { initUpload } from './upload.js';
import { createVideoList } from './videos.js';

const player = createPlayer();
const videos = createVideoList({ onSignedOut: showSignedOut, player });
initUpload({ onUploaded: () => videos.refresh(), onSignedOut: showSignedOut });

function showSignedIn(email) {
  $('login').hidden = true;
  $('console').hidden = false;
  $('session').hidden = false;
  if (email) $('session-user').textContent = email;
  document.body.dataset.signedIn = 'true';
  videos.start();
}

function showSignedOut(message) {
  videos.stop();
  player.stop();
  $('console').hidden = true;
  $('session').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  document.body.dataset.signedIn = 'false';
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('login-error').textContent = '';
  $('login-submit').disabled = true;
  try {
    const email = $('login-email').value.trim();
    const res = await api('POST', '/api/login/', { email, password: $('login-password').value });
    if (!res.ok) return void ($('login-error').textContent = await detailOf(res));
    const check = await api('GET', '/api/admin/videos/');
    if (check.status === 403) {
      await api('POST', '/api/logout/');
      return void ($('login-error').textContent = 'This account is not a staff account.');
    }
    $('login-password').value = '';
    showSignedIn(email);
  } catch (err) {
    $('login-error').textContent = `Sign-in failed: ${err.message}`;
  } finally {
    $('login-submit').disabled = false;
  }
});

$('logout').addEventListener('click', async () => {
  await api('POST', '/api/logout/').catch(() => undefined);
  showSignedOut('Signed out.');
});

// start: signed in already (cookies)?
try {
  const res = await authed('GET', '/api/me/');
  if (!res.ok) showSignedOut('');
  else {
    const me = await res.json();
    if (me.is_staff) showSignedIn(me.email);
    else showSignedOut('This account is not a staff account.');
  }
} catch {
  showSignedOut('The API is not reachable.');
}
