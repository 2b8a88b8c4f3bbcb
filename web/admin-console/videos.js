/* The videos table of the admin console, polled: phase, per-rendition state, errors; play, retry, delete. */
import { authed, detailOf } from './api.js';
import { $, duration, el } from './dom.js';

const POLL_MS = 2000;

/**
 * `onSignedOut(message)`: the session ended while polling; `player`: { play(video), stop(), playingId() }.
 * Returns { start(), stop(), refresh() }.
 */
export function createVideoList({ onSignedOut, player }) {
  let timer = null;
  let active = false;

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  async function poll() {
    if (!active) return;
    try {
      const res = await authed('GET', '/api/admin/videos/');
      if (res.status === 401) return onSignedOut('Your session ended: sign in again.');
      if (res.status === 403) return onSignedOut('This account is not a staff account.');
      if (!res.ok) throw new Error(await detailOf(res));
      render(await res.json());
      $('videos-error').textContent = '';
      $('videos-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (err) {
      $('videos-error').textContent = `Could not load the videos: ${err.message}`;
    }
    schedule(POLL_MS);
  }

  /** "1:05 left" from the seconds the API computed; "" when unknown. */
  function etaText(seconds) {
    if (seconds === null || seconds === undefined) return '';
    return seconds < 1 ? 'finishing' : `${duration(seconds)} left`;
  }

  function renditionCell(renditions) {
    // renditions taller than the source are Skipped (never upscaled): not part of the work to do
    const todo = renditions.filter((r) => r.phase !== 'Skipped');
    const done = todo.filter((r) => r.phase === 'Succeeded').length;
    const skipped = renditions.length - todo.length;
    // live progress of each running rendition (the transcoders' reports, a few seconds old at most)
    const running = renditions.filter((r) => r.phase === 'Running');
    return el(
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
        textContent: todo.length ? `${done}/${todo.length} done${skipped ? `, ${skipped} skipped` : ''}` : '',
      }),
      todo.length ? el('progress', { max: todo.length, value: done }) : '',
      ...running.map((r) =>
        el(
          'div',
          { className: 'rendition-progress', dataset: { rendition: r.name } },
          el('span', { className: 'rendition-name', textContent: `${r.name} ` }),
          el('progress', {
            className: 'encode',
            max: 100,
            value: r.progress ? r.progress.percent : 0,
            title: r.progress ? `${r.progress.percent} %` : 'waiting for the first report',
          }),
          el('span', {
            className: 'eta',
            textContent: r.progress
              ? ` ${Math.floor(r.progress.percent)} %${r.progress.speed ? ` at ${r.progress.speed}x` : ''} ${etaText(r.progress.eta_seconds)}`
              : ' starting',
          }),
        ),
      ),
    );
  }

  /** The thumbnail as soon as it exists (staff route: also while processing). */
  function thumbnailOf(v) {
    if (!v.thumbnail_url) return '';
    return el('img', {
      className: 'thumb',
      src: `/api/admin/videos/${v.id}/thumbnail.jpg`,
      alt: '',
      loading: 'lazy',
      width: 96,
    });
  }

  function actionsOf(v) {
    const actions = el('div', { className: 'actions' });
    if (v.phase === 'Ready') {
      actions.append(
        el('button', {
          type: 'button',
          className: 'play',
          textContent: 'Play',
          onclick: () => player.play(v),
        }),
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
    return actions;
  }

  function render(videos) {
    const rows = videos.map((v) => {
      const renditions = v.renditions || [];
      const errors = [
        v.error,
        ...renditions.filter((r) => r.phase === 'Failed' && r.message).map((r) => `${r.name}: ${r.message}`),
      ]
        .filter(Boolean)
        .join('\n');
      return el(
        'tr',
        { dataset: { id: String(v.id), phase: v.phase, title: v.title } },
        el('td', { textContent: String(v.id) }),
        el(
          'td',
          { className: 'title', title: v.description || '' },
          thumbnailOf(v),
          el('div', { textContent: v.title }),
        ),
        el('td', {}, el('span', { className: 'phase', dataset: { phase: v.phase }, textContent: v.phase })),
        renditionCell(renditions),
        el('td', { textContent: duration(v.duration_seconds) }),
        el('td', { textContent: new Date(v.created_at).toLocaleString() }),
        el('td', { className: 'error-reason error', textContent: errors }),
        el('td', {}, actionsOf(v)),
      );
    });
    $('videos-body').replaceChildren(...rows);
    $('videos-empty').hidden = rows.length > 0;
  }

  async function retry(v) {
    const res = await authed('POST', `/api/admin/videos/${v.id}/retry/`);
    if (!res.ok) $('videos-error').textContent = `Retry failed: ${await detailOf(res)}`;
    schedule(0);
  }

  async function remove(v) {
    if (!confirm(`Delete "${v.title}" (id ${v.id}) and its media?`)) return;
    const res = await authed('DELETE', `/api/admin/videos/${v.id}/`);
    if (!res.ok && res.status !== 404)
      $('videos-error').textContent = `Delete failed: ${await detailOf(res)}`;
    if (player.playingId() === v.id) player.stop();
    schedule(0);
  }

  return {
    start() {
      active = true;
      schedule(0);
    },
    stop() {
      active = false;
      clearTimeout(timer);
    },
    refresh: () => schedule(0),
  };
}
