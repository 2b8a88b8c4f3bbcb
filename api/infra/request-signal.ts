/**
 * The AbortSignal of the request being served, carried through async calls (AsyncLocalStorage), so
 * that clients which cannot take a signal themselves (the S3 client's HTTP requests) stop what a
 * request started when it times out or its client goes away. Clean-up that must finish anyway
 * (aborting a multipart upload, removing a half-written object) runs `detached`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

const current = new AsyncLocalStorage<AbortSignal>();

/** The signal of the request whose work is running now; undefined outside a request. */
export function requestSignal(): AbortSignal | undefined {
  return current.getStore();
}

/** Runs `fn` (and everything it starts) under `signal`. */
export function withRequestSignal<T>(signal: AbortSignal, fn: () => T): T {
  return current.run(signal, fn);
}

/** Runs `fn` outside any request's signal: clean-up that must not be cut short. */
export function detached<T>(fn: () => T): T {
  return current.exit(fn);
}
