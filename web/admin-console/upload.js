/*
 * The upload form of the admin console: a resumable upload (tus 1.0, tus-js-client from /admin/vendor/tus.min.js)
 * to /api/admin/uploads/, in 16 MiB PATCH requests (each well inside an ingress's request timeouts), with a
 * progress bar. A dropped connection or a restarted API Pod is retried automatically from the server's offset;
 * after a page reload, choosing the same file again resumes it (tus-js-client keeps the upload URL in
 * localStorage under the file's fingerprint). "Resumed at N %" shows where a resume started. The multipart route
 * (POST /api/admin/videos/) stays for other clients.
 */
import { api } from './api.js';
import { $ } from './dom.js';

const CHUNK_BYTES = 16 * 1024 * 1024;
/** Waits between retries (ms): about two minutes in all, longer than an API Pod takes to be replaced. */
const RETRY_DELAYS = [0, 1000, 2000, 3000, 5000, 10000, 10000, 15000, 20000, 30000, 30000];
const VIDEO_ID_HEADER = 'Videoflix-Video-Id';

/** The API's error body as one line, from a tus-js-client error. */
function reasonOf(err) {
  const res = err && err.originalResponse;
  if (!res) return err && err.message ? err.message.split('\n')[0] : 'network error';
  try {
    const body = JSON.parse(res.getBody());
    if (body && typeof body.detail === 'string') return body.detail;
    if (body && typeof body === 'object')
      return Object.entries(body)
        .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`)
        .join('; ');
  } catch {
    /* not JSON */
  }
  return `HTTP ${res.getStatus()}`;
}

/** `onUploaded()`: refresh the list; `onSignedOut(message)`: the session ended. */
export function initUpload({ onUploaded, onSignedOut }) {
  $('upload-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const file = $('upload-file').files[0];
    if (!file) return;
    const progress = $('upload-progress');
    const status = $('upload-status');
    const submit = $('upload-submit');
    progress.hidden = false;
    progress.value = 0;
    status.textContent = 'Uploading…';
    status.dataset.state = 'uploading';
    delete status.dataset.resumed;
    delete status.dataset.videoId;
    submit.disabled = true;

    let resumedNote = '';
    let videoId = '';
    /** A refresh of the access token in progress (its cookie expires during a long upload). */
    let refreshing = null;

    const upload = new window.tus.Upload(file, {
      endpoint: '/api/admin/uploads/',
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS,
      removeFingerprintOnSuccess: true,
      metadata: {
        title: $('upload-title').value,
        description: $('upload-description').value,
        category: $('upload-category').value,
        filename: file.name,
        filetype: file.type || 'application/octet-stream',
      },
      async onBeforeRequest() {
        if (refreshing) await refreshing;
      },
      onAfterResponse(req, res) {
        const id = res.getHeader(VIDEO_ID_HEADER);
        if (id) videoId = id;
        // a HEAD asks where to resume: after a dropped connection, a restarted server or a page reload
        if (req.getMethod() === 'HEAD' && res.getStatus() === 200) {
          const offset = Number(res.getHeader('Upload-Offset'));
          const length = Number(res.getHeader('Upload-Length')) || file.size;
          const pct = Math.floor((offset / length) * 100);
          resumedNote = `Resumed at ${pct} %`;
          status.dataset.resumed = String(pct);
          status.textContent = `${resumedNote}…`;
        }
      },
      onShouldRetry(err, attempt) {
        const code = err.originalResponse ? err.originalResponse.getStatus() : 0;
        if (code === 401 && attempt < 2) {
          refreshing = api('POST', '/api/token/refresh/')
            .catch(() => undefined)
            .finally(() => (refreshing = null));
          return true;
        }
        // 4xx are final (refused), except a conflicting offset or a locked upload; the rest is retried
        if (code >= 400 && code < 500 && code !== 409 && code !== 423) return false;
        status.textContent = `Connection lost; retrying (${attempt + 1}/${RETRY_DELAYS.length})…`;
        status.dataset.state = 'retrying';
        return true;
      },
      onProgress(sent, total) {
        progress.value = Math.floor((sent / total) * 100);
        status.dataset.state = 'uploading';
        const done = `${progress.value}% of ${(total / 1e6).toFixed(1)} MB`;
        status.textContent = resumedNote ? `${resumedNote}; uploading… ${done}` : `Uploading… ${done}`;
      },
      onSuccess() {
        submit.disabled = false;
        progress.value = 100;
        status.textContent = `Uploaded: video ${videoId}${resumedNote ? ` (${resumedNote.toLowerCase()})` : ''}.`;
        status.dataset.state = 'done';
        status.dataset.videoId = videoId;
        $('upload-form').reset();
        onUploaded();
      },
      onError(err) {
        submit.disabled = false;
        const code = err.originalResponse ? err.originalResponse.getStatus() : 0;
        status.textContent =
          code === 0
            ? `Upload paused: ${reasonOf(err)}. Choose the same file and upload again to resume.`
            : `Upload failed: ${reasonOf(err)}`;
        status.dataset.state = 'failed';
        if (code === 401) onSignedOut('Your session ended: sign in again.');
      },
    });

    // the same file chosen again (after a reload or a failure): resume its upload instead of starting over
    try {
      const previous = await upload.findPreviousUploads();
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
    } catch {
      /* no localStorage: start a new upload */
    }
    upload.start();
  });
}
