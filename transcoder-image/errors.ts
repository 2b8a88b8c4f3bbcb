/**
 * Failures the transcoder reports. Each kind maps to one exit code of the contract
 * (common/video/transcoder-contract.ts) and one clear line for the termination message.
 */
import { EXIT_CODES } from '../common/video/index.js';

export type FailureKind = 'badInput' | 'storage' | 'usage' | 'internal';

export class TranscoderError extends Error {
  constructor(
    public readonly kind: FailureKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TranscoderError';
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }
}

/** The source cannot be used: never retried (the Job fails at once). */
export const badInput = (message: string, cause?: unknown) =>
  new TranscoderError('badInput', message, { cause });
/** The object store is unreachable, refuses us, or lacks a bucket: retried up to the Job's backoffLimit. */
export const storageError = (detail: string, cause?: unknown) =>
  new TranscoderError('storage', `storage error: ${detail}`, { cause });
export const usageError = (message: string) => new TranscoderError('usage', message);

/** Any error → a TranscoderError (unknown errors are internal, exit 1). */
export function toTranscoderError(err: unknown): TranscoderError {
  if (err instanceof TranscoderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new TranscoderError('internal', `internal error: ${message}`, { cause: err });
}

/**
 * One line for Kubernetes' termination message (the kubelet keeps at most 4096 bytes):
 * whitespace collapsed, credentials in presigned URLs removed, length bounded.
 */
export function terminationLine(message: string, max = 1024): string {
  const oneLine = redactUrls(message).replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** Drops query strings (presigned signatures) from http(s) URLs in a text. */
export function redactUrls(text: string): string {
  // the query ends at whitespace, a quote, or ffmpeg's "<url>: message" separator
  return text.replace(/(https?:\/\/[^\s?'"]+)\?(?:(?!: )[^\s'"])*/g, '$1?[redacted]');
}
