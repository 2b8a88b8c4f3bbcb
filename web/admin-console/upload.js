/* The upload form of the admin console: multipart with the file last (the API streams it), with progress. */
import { $ } from './dom.js';

/** `onUploaded()`: refresh the list; `onSignedOut(message)`: the session ended. */
export function initUpload({ onUploaded, onSignedOut }) {
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

    // XMLHttpRequest, not fetch: only it reports the progress of the request body
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
        onUploaded();
      } else {
        const why = body && body.detail ? body.detail : body ? JSON.stringify(body) : `HTTP ${xhr.status}`;
        status.textContent = `Upload failed: ${why}`;
        status.dataset.state = 'failed';
        if (xhr.status === 401) onSignedOut('Your session ended: sign in again.');
      }
    });
    xhr.addEventListener('error', () => {
      $('upload-submit').disabled = false;
      status.textContent = 'Upload failed: network error.';
      status.dataset.state = 'failed';
    });
    xhr.send(form);
  });
}
