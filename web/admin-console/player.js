/* The HLS player of the admin console: hls.js (vendor/hls.min.js, a classic script: window.Hls) with a
 * rendition switcher; Safari plays HLS natively. Playlists resolve through the API's HLS routes. */
import { $, el } from './dom.js';

export function createPlayer() {
  const video = $('player-video');
  const select = $('player-rendition');
  let hls = null;
  let playingId = null;

  function stop() {
    if (hls) hls.destroy();
    hls = null;
    playingId = null;
    video.removeAttribute('src');
    video.load();
    $('player').hidden = true;
  }

  const failed = (err) => ($('player-error').textContent = `Playback did not start: ${err.message}`);

  function attachHls(src) {
    const Hls = window.Hls;
    hls = new Hls({ xhrSetup: (xhr) => (xhr.withCredentials = true) });
    const h = hls;
    h.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
      data.levels.forEach((level, i) => {
        const label = level.height ? `${level.height}p` : `level ${i}`;
        select.append(
          el('option', {
            value: String(i),
            textContent: `${label} (${Math.round(level.bitrate / 1000)} kb/s)`,
          }),
        );
      });
      video.play().catch(failed);
    });
    h.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
      const level = h.levels[data.level];
      $('player-level').textContent = level ? `playing ${level.height}p` : '';
      video.dataset.level = level ? `${level.height}p` : '';
    });
    h.on(Hls.Events.ERROR, (_e, data) => {
      if (data.fatal) $('player-error').textContent = `Playback error: ${data.type} ${data.details}`;
    });
    h.loadSource(src);
    h.attachMedia(video);
  }

  function play(v) {
    stop();
    playingId = v.id;
    $('player').hidden = false;
    $('player-title').textContent = v.title;
    $('player-error').textContent = '';
    $('player-level').textContent = '';
    select.replaceChildren(el('option', { value: '-1', textContent: 'Auto' }));
    const src = `/api/video/${v.id}/master.m3u8`;
    video.muted = true;
    if (window.Hls && window.Hls.isSupported()) {
      attachHls(src);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = src; // Safari plays HLS natively (no rendition switcher then)
      video.play().catch(failed);
    } else {
      $('player-error').textContent = 'This browser cannot play HLS.';
    }
  }

  select.addEventListener('change', () => {
    if (hls) hls.currentLevel = Number(select.value); // -1 = automatic
  });
  $('player-close').addEventListener('click', stop);

  return { play, stop, playingId: () => playingId };
}
