/**
 * The one backoff of the platform: exponential (base doubled per attempt), capped, with optional
 * jitter (off by default, so tests are deterministic). Owner: common. Readers: the operator's work
 * queue, informer and automatic retries of failed work, the AMQP connection lifecycle (common/amqp:
 * the operator's publisher and the API's consumer), the first-contact retry of S3 (common/storage).
 */

/**
 * Delay before attempt `attempt` (1-based): `baseMs · 2^(attempt−1)`, at most `maxMs`. With
 * `jitter` j in (0, 1], a random part of it: between (1−j) and 1 times that delay.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, jitter = 0): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return jitter > 0 ? exp * (1 - jitter + Math.random() * jitter) : exp;
}

/** The delays of `attempts` attempts, without jitter: [base, 2·base, 4·base, ...] each capped. */
export function backoffSchedule(attempts: number, baseMs: number, maxMs: number): number[] {
  return Array.from({ length: attempts }, (_, i) => backoffDelay(i + 1, baseMs, maxMs));
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
