/**
 * The uploads in progress of one process: the shutdown aborts them (503 `shutting_down` to each
 * uploader) and waits for their clean-up before the pools close.
 */
import type { Request } from 'express';
import { AppError } from '../../errors.js';

export const shuttingDown = () =>
  new AppError(503, 'shutting_down', 'The server is shutting down; please upload the file again.');

export interface Tracked {
  /** Fails the upload with `err` (the file stream once it is being read, else the request). */
  abort: (err: Error) => void;
  done?: Promise<void>;
}

/** The uploads in progress of one process, so that its shutdown can abort them and wait for their clean-up. */
export class InFlightUploads {
  private readonly entries = new Set<Tracked>();
  private closed = false;

  get size(): number {
    return this.entries.size;
  }

  /** Runs `work` as a tracked upload; refused at once (503) once the shutdown began. */
  async run<T>(req: Request, work: (t: Tracked) => Promise<T>): Promise<T> {
    if (this.closed) throw shuttingDown();
    const t: Tracked = { abort: () => req.destroy() };
    const done = work(t);
    t.done = done.then(
      () => undefined,
      () => undefined,
    );
    this.entries.add(t);
    try {
      return await done;
    } finally {
      this.entries.delete(t);
    }
  }

  /**
   * Aborts every upload in progress (each undoes its work: multipart upload aborted, row removed)
   * and waits for them, at most `ms`. Resolves with how many were aborted.
   */
  async abortAll(ms: number): Promise<number> {
    this.closed = true;
    const all = [...this.entries];
    for (const t of all) t.abort(shuttingDown());
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(all.map((t) => t.done)),
      new Promise<void>((r) => {
        timer = setTimeout(r, ms);
      }),
    ]);
    clearTimeout(timer);
    return all.length;
  }
}
