/* The API client of the admin console: same-origin requests with the HTTP-only auth cookies. */

/** One JSON request (a body, when given, is sent as JSON). */
export async function api(method, path, body) {
  const init = { method, credentials: 'include', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetch(path, init);
}

/** A request that retries once after refreshing the access token (its cookie expires before the refresh token). */
export async function authed(method, path) {
  let res = await api(method, path);
  if (res.status === 401) {
    const refreshed = await api('POST', '/api/token/refresh/');
    if (refreshed.ok) res = await api(method, path);
  }
  return res;
}

/** The API's error body as one line: `{"detail"}`, or `{"field": ["message"]}` joined. */
export async function detailOf(res) {
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
