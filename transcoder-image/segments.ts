/**
 * Ships finished segments while ffmpeg is still encoding: each `segment_NNN.ts` that appears in the
 * output directory (ffmpeg writes `segment_NNN.ts.tmp` and renames it when the segment is complete,
 * hls_flags temp_file) is measured, uploaded and deleted. Scratch space stays at a few segments
 * instead of the whole rendition, and uploads overlap the encode.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { SEGMENT_PATTERN } from '../common/video/index.js';
import type { SegmentMeasure } from './metadata.js';
import { pool } from './storage.js';

export interface ShipperOptions<M = SegmentMeasure> {
  dir: string;
  measure: (file: string) => Promise<M>;
  upload: (name: string, file: string) => Promise<void>;
  /** Called once with the first failure (the caller stops the encode). */
  onError: (err: unknown) => void;
  intervalMs?: number;
  /** Segments measured and uploaded at the same time (default 3). */
  concurrency?: number;
}

export class SegmentShipper<M = SegmentMeasure> {
  private readonly shipped = new Map<string, M>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failure: { err: unknown } | undefined;

  constructor(private readonly o: ShipperOptions<M>) {}

  /** Starts watching the directory (polling: portable, and segments come seconds apart). */
  start(): void {
    this.timer = setInterval(() => {
      if (!this.running && !this.failure)
        this.running = this.sweep().finally(() => (this.running = undefined));
    }, this.o.intervalMs ?? 500);
  }

  /**
   * One pass: ships every complete segment not shipped yet, a few at a time (the last ones, left
   * when ffmpeg exits, are on the critical path); each is measured and uploaded at once, then deleted.
   */
  private async sweep(): Promise<void> {
    try {
      const names = (await readdir(this.o.dir))
        .filter((n) => SEGMENT_PATTERN.test(n) && !this.shipped.has(n))
        .sort();
      await pool(names, this.o.concurrency ?? 3, async (name) => {
        const file = path.join(this.o.dir, name);
        const [measure] = await Promise.all([this.o.measure(file), this.o.upload(name, file)]);
        await rm(file, { force: true });
        this.shipped.set(name, measure);
      });
    } catch (err) {
      if (!this.failure) {
        this.failure = { err };
        this.o.onError(err);
      }
    }
  }

  /** Stops watching without shipping more (after a failed encode). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** After ffmpeg has exited successfully: ships what is left and returns every measure by name. */
  async finish(): Promise<ReadonlyMap<string, M>> {
    await this.stop();
    if (!this.failure) await this.sweep();
    if (this.failure) throw this.failure.err;
    return this.shipped;
  }

  /** The first failure, if any (to report it instead of the encode's "aborted"). */
  get error(): unknown {
    return this.failure?.err;
  }
}
