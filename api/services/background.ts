/** Work finished after the answer was sent (mails whose timing must not reveal anything); drained on shutdown. */
import type { Logger } from '../../common/logging/index.js';
import { safeError } from '../errors.js';

export class BackgroundTasks {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly logger: Logger) {}

  run(name: string, fn: () => Promise<void>): void {
    const p = fn()
      .catch((err: unknown) =>
        this.logger.error({ err: safeError(err), task: name }, 'background task failed'),
      )
      .finally(() => this.pending.delete(p));
    this.pending.add(p);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Waits for running tasks, at most `timeoutMs`. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.pending]),
      new Promise((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
