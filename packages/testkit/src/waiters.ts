/**
 * Polling with a deadline. `waitFor` calls `fn` until it returns a truthy value (which it then
 * resolves with) or the deadline passes; a falsy value or a thrown error means "not yet". The
 * timeout error says what was awaited and what the last attempt saw, so a failing test explains
 * itself. Throw `GiveUp` from `fn` to stop waiting at once (for example: the process died).
 */
import { inspect } from 'node:util';

export interface WaitOptions {
  /** Deadline in milliseconds from the first call (default 10 000). */
  timeoutMs?: number;
  /** Pause between two attempts in milliseconds (default 100). */
  intervalMs?: number;
  /** What is awaited, for the error message ("the Job's pod", "mail to a@b.c"). */
  what?: string;
}

/** Thrown from a waited-for function to stop waiting immediately; waitFor rethrows it. */
export class GiveUp extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GiveUp';
  }
}

/** The error waitFor throws at the deadline; `lastSeen` is the last value or error. */
export class WaitTimeoutError extends Error {
  constructor(
    message: string,
    public readonly lastSeen: unknown,
  ) {
    super(message);
    this.name = 'WaitTimeoutError';
  }
}

export function describeValue(value: unknown): string {
  if (value instanceof Error) return `error ${value.name}: ${value.message}`;
  return inspect(value, { depth: 4, breakLength: Infinity, maxStringLength: 500, maxArrayLength: 20 });
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Resolves with the first truthy value `fn` returns; rejects with WaitTimeoutError at the
 * deadline (or with GiveUp when `fn` throws one). `fn` is always called at least once, and once
 * more right at the deadline if the previous attempt ended before it.
 */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 100;
  const what = opts.what ?? 'a condition';
  const start = Date.now();
  const deadline = start + timeoutMs;
  let attempts = 0;
  let lastSeen: unknown = undefined;
  for (;;) {
    attempts++;
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      lastSeen = value;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastSeen = err;
    }
    const now = Date.now();
    if (now >= deadline) {
      throw new WaitTimeoutError(
        `timed out after ${now - start} ms (${attempts} attempts) waiting for ${what}; last saw: ${describeValue(lastSeen)}`,
        lastSeen,
      );
    }
    await pause(Math.min(intervalMs, deadline - now));
  }
}

/** Like waitFor but resolves to false at the deadline instead of throwing. */
export async function pollUntil(
  fn: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  try {
    await waitFor(fn, { timeoutMs, intervalMs });
    return true;
  } catch (err) {
    if (err instanceof WaitTimeoutError) return false;
    throw err;
  }
}
