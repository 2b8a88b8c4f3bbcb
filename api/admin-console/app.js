/* Videoflix admin console: plain browser JavaScript, no framework, no build step, no inline code (strict CSP).
 * Talks to the API on the same origin with its HTTP-only auth cookies:
 *   POST /api/login/, POST /api/logout/, POST /api/token/refresh/
 *   GET/POST /api/admin/videos/, DELETE /api/admin/videos/<id>/
 *   GET /api/video/<id>/master.m3u8 (hls.js; the playlists resolve through the API's HLS routes) */
/* global document, window, fetch, XMLHttpRequest, FormData, Hls, setTimeout, clearTimeout, confirm */
'use strict';

(function () {
  const POLL_MS = 2000;
  const $ = (id) => document.getElementById(id);
  const state = { signedIn: false, pollTimer: null, videos: [], hls: null, playingId: null };

  // ---- HTTP -------------------------------------------------------------------------------------------
  async function api(method, path, body) {
    const init = { method, credentials: 'include', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init);
  }
  /** A request that retries once after refreshing the access token (its cookie expires before the refresh token). */
  async function authed(method, path) {
    let res = await api(method, path);
    if (res.status === 401) {
      const refreshed = await api('POST', '/api/token/refresh/');
      if (refreshed.ok) res = await api(method, path);
    }
    return res;
  }
  async function detailOf(res) {
    try {
      const body = await res.json();
      if (body && typeof body.detail === 'string') return body.detail;
      if (body && typeof body === 'object') {
        return Object.entries(body)
          .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`)
          .join('; ');
      }
    } catch {
      /* not JSON */
    }
    return `HTTP ${res.status}`;
  }

  // ---- session ------------------------------------------------------------------------------------------
  function showSignedIn(email) {
    state.signedIn = true;
    $('login').hidden = true;
    $('console').hidden = false;
    $('session').hidden = false;
    if (email) $('session-user').textContent = email;
    document.body.dataset.signedIn = 'true';
    schedulePoll(0);
  }
  function showSignedOut(message) {
    state.signedIn = false;
    clearTimeout(state.pollTimer);
    stopPlayer();
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

  // ---- the list, polled -----------------------------------------------------------------------------------
  function schedulePoll(ms) {
    clearTimeout(state.pollTimer);
    state.pollTimer = setTimeout(poll, ms);
  }
  async function poll() {
    if (!state.signedIn) return;
    try {
      const res = await authed('GET', '/api/admin/videos/');
      if (res.status === 401) return showSignedOut('Your session ended: sign in again.');
      if (res.status === 403) return showSignedOut('This account is not a staff account.');
      if (!res.ok) throw new Error(await detailOf(res));
      state.videos = await res.json();
      renderVideos();
      $('videos-error').textContent = '';
      $('videos-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      $('videos-error').textContent = `Could not load the videos: ${err.message}`;
    }
    schedulePoll(POLL_MS);
  }

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'dataset') Object.assign(node.dataset, v);
      else if (k === 'onclick') node.addEventListener('click', v);
      else node[k] = v;
    }
    for (const c of children) node.append(c);
    return node;
  }
  function duration(s) {
    if (s === null || s === undefined) return '';
    const m = Math.floor(s / 60);
    return `${m}:${String(Math.round(s - m * 60)).padStart(2, '0')}`;
  }

  function renderVideos() {
    const body = $('videos-body');
    const rows = state.videos.map((v) => {
      const renditions = v.renditions || [];
      // renditions taller than the source are Skipped (never upscaled): not part of the work to do
      const todo = renditions.filter((r) => r.phase !== 'Skipped');
      const done = todo.filter((r) => r.phase === 'Succeeded').length;
      const skipped = renditions.length - todo.length;
      const renditionCell = el(
        'td',
        { className: 'renditions' },
        ...renditions.flatMap((r) => [
          el('span', {
            className: 'rendition',
            dataset: { rendition: r.name, phase: r.phase },
            textContent: `${r.name} ${r.phase}`,
            title: r.message || '',
          }),
          ' ',
        ]),
        el('div', {
          className: 'muted',
          textContent: todo.length
            ? `${done}/${todo.length} done${skipped ? `, ${skipped} skipped` : ''}`
            : '',
        }),
        todo.length ? el('progress', { max: todo.length, value: done }) : '',
      );
      const errors = [
        v.error,
        ...renditions.filter((r) => r.phase === 'Failed' && r.message).map((r) => `${r.name}: ${r.message}`),
      ]
        .filter(Boolean)
        .join('\n');
      const actions = el('div', { className: 'actions' });
      if (v.phase === 'Ready') {
        actions.append(
          el('button', { type: 'button', className: 'play', textContent: 'Play', onclick: () => play(v) }),
        );
      }
      if (v.phase === 'Failed') {
        actions.append(
          el('button', { type: 'button', className: 'retry', textContent: 'Retry', onclick: () => retry(v) }),
        );
      }
      actions.append(
        el('button', {
          type: 'button',
          className: 'delete danger',
          textContent: 'Delete',
          onclick: () => remove(v),
        }),
      );
      return el(
        'tr',
        { dataset: { id: String(v.id), phase: v.phase, title: v.title } },
        el('td', { textContent: String(v.id) }),
        el('td', { className: 'title', textContent: v.title, title: v.description || '' }),
        el('td', {}, el('span', { className: 'phase', dataset: { phase: v.phase }, textContent: v.phase })),
        renditionCell,
        el('td', { textContent: duration(v.duration_seconds) }),
        el('td', { textContent: new Date(v.created_at).toLocaleString() }),
        el('td', { className: 'error-reason error', textContent: errors }),
        el('td', {}, actions),
      );
    });
    body.replaceChildren(...rows);
    $('videos-empty').hidden = rows.length > 0;
  }

  async function retry(v) {
    const res = await authed('POST', `/api/admin/videos/${v.id}/retry/`);
    if (!res.ok) $('videos-error').textContent = `Retry failed: ${await detailOf(res)}`;
    schedulePoll(0);
  }

  async function remove(v) {
    if (!confirm(`Delete "${v.title}" (id ${v.id}) and its media?`)) return;
    const res = await authed('DELETE', `/api/admin/videos/${v.id}/`);
    if (!res.ok && res.status !== 404)
      $('videos-error').textContent = `Delete failed: ${await detailOf(res)}`;
    if (state.playingId === v.id) stopPlayer();
    schedulePoll(0);
  }

  // ---- upload with progress -------------------------------------------------------------------------------
  $('upload-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const file = $('upload-file').files[0];
    if (!file) return;
    const form = new FormData();
    form.append('title', $('upload-title').value);
    form.append('description', $('upload-description').value);
    form.append('category', $('upload-category').value);
    form.append('file', file, file.name); // last: the API streams it as it arrives
    const progress = $('upload-progress');
    const status = $('upload-status');
    progress.hidden = false;
    progress.value = 0;
    status.textContent = 'Uploading…';
    status.dataset.state = 'uploading';
    $('upload-submit').disabled = true;

    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/admin/videos/');
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      progress.value = Math.round((e.loaded / e.total) * 100);
      status.textContent = `Uploading… ${progress.value}% of ${(e.total / 1e6).toFixed(1)} MB`;
    });
    xhr.addEventListener('load', () => {
      $('upload-submit').disabled = false;
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status === 202 && body) {
        progress.value = 100;
        status.textContent = `Uploaded: video ${body.id} (${body.status}).`;
        status.dataset.state = 'done';
        status.dataset.videoId = String(body.id);
        $('upload-form').reset();
        schedulePoll(0);
      } else {
        const why = body && body.detail ? body.detail : body ? JSON.stringify(body) : `HTTP ${xhr.status}`;
        status.textContent = `Upload failed: ${why}`;
        status.dataset.state = 'failed';
        if (xhr.status === 401) showSignedOut('Your session ended: sign in again.');
      }
    });
    xhr.addEventListener('error', () => {
      $('upload-submit').disabled = false;
      status.textContent = 'Upload failed: network error.';
      status.dataset.state = 'failed';
    });
    xhr.send(form);
  });

  // ---- player --------------------------------------------------------------------------------------------
  const video = $('player-video');
  const select = $('player-rendition');

  function stopPlayer() {
    if (state.hls) state.hls.destroy();
    state.hls = null;
    state.playingId = null;
    video.removeAttribute('src');
    video.load();
    $('player').hidden = true;
  }

  function play(v) {
    stopPlayer();
    state.playingId = v.id;
    $('player').hidden = false;
    $('player-title').textContent = v.title;
    $('player-error').textContent = '';
    $('player-level').textContent = '';
    select.replaceChildren(el('option', { value: '-1', textContent: 'Auto' }));
    const src = `/api/video/${v.id}/master.m3u8`;
    video.muted = true;
    if (window.Hls && Hls.isSupported()) {
      const hls = new Hls({ xhrSetup: (xhr) => (xhr.withCredentials = true) });
      state.hls = hls;
      hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
        data.levels.forEach((level, i) => {
          const label = level.height ? `${level.height}p` : `level ${i}`;
          select.append(
            el('option', {
              value: String(i),
              textContent: `${label} (${Math.round(level.bitrate / 1000)} kb/s)`,
            }),
          );
        });
        video
          .play()
          .catch((err) => ($('player-error').textContent = `Playback did not start: ${err.message}`));
      });
      hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
        const level = hls.levels[data.level];
        $('player-level').textContent = level ? `playing ${level.height}p` : '';
        video.dataset.level = level ? `${level.height}p` : '';
      });
      hls.on(Hls.Events.ERROR, (_e, data) => {
        if (data.fatal) $('player-error').textContent = `Playback error: ${data.type} ${data.details}`;
      });
      hls.loadSource(src);
      hls.attachMedia(video);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = src; // Safari plays HLS natively (no rendition switcher then)
      video.play().catch((err) => ($('player-error').textContent = `Playback did not start: ${err.message}`));
    } else {
      $('player-error').textContent = 'This browser cannot play HLS.';
    }
  }

  select.addEventListener('change', () => {
    if (!state.hls) return;
    state.hls.currentLevel = Number(select.value); // -1 = automatic
  });
  $('player-close').addEventListener('click', stopPlayer);

  // ---- start: signed in already (cookies)? --------------------------------------------------------------
  (async () => {
    try {
      const res = await authed('GET', '/api/me/');
      if (!res.ok) return showSignedOut('');
      const me = await res.json();
      if (me.is_staff) showSignedIn(me.email);
      else showSignedOut('This account is not a staff account.');
    } catch {
      showSignedOut('The API is not reachable.');
    }
  })();
})();
