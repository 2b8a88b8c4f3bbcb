/** Exponential backoff with a cap and full jitter off by default (deterministic for tests). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, jitter = 0): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return jitter > 0 ? exp * (1 - jitter + Math.random() * jitter) : exp;
}

/** A sleep that a stop signal can cut short. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
