/**
 * The transcoder program: one unit of work per run, then exit with the contract's code
 * (started by main.ts, which handles signals while this module graph loads).
 * On failure one clear line goes to the termination-message path (the Pod's status shows it); a
 * rendition that succeeds writes its rendition.json there (the operator counts it done at exit).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createLogger } from '../common/logging/index.js';
import { EXIT_CODES, MAX_TERMINATION_MESSAGE_BYTES } from '../common/video/index.js';
import { loadJobConfig, parseArgs, terminationMessagePath } from './config.js';
import { terminationLine, toTranscoderError, TranscoderError } from './errors.js';
import { createMediaTool } from './ffmpeg/index.js';
import { renditionTerminationMessage } from './metadata.js';
import { ProgressReporter } from './progress.js';
import { Storage } from './storage.js';
import type { TaskContext } from './tasks/context.js';
import { runChunk } from './tasks/chunk.js';
import { runRendition } from './tasks/rendition.js';
import { runStitch } from './tasks/stitch.js';
import { runThumbnail } from './tasks/thumbnail.js';

export async function main(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): Promise<number> {
  const log = createLogger('transcoder');
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    log.warn({ signal: sig }, 'stopping');
    controller.abort(new TranscoderError('internal', `interrupted by ${sig}`));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  let reporter: ProgressReporter | undefined;
  try {
    const args = parseArgs(argv);
    const job = loadJobConfig(env);
    if (args.task === 'rendition' && job.progress) {
      // connects while the source is probed; reports are dropped until then (and if it never does)
      reporter = new ProgressReporter({ ...job.progress, logger: log.child({ part: 'progress' }) });
      reporter.start();
    }
    const ctx: TaskContext = {
      job,
      storage: Storage.fromConfig(job.storage),
      media: createMediaTool(env),
      log: log.child({
        videoId: job.videoId,
        task: args.task,
        ...(args.task !== 'thumbnail' ? { rendition: args.rendition } : {}),
        ...(args.task === 'chunk' ? { chunk: job.chunkIndex } : {}),
      }),
      signal: controller.signal,
      ...(reporter ? { progress: reporter } : {}),
    };
    const started = performance.now();
    const result =
      args.task === 'thumbnail'
        ? await runThumbnail(ctx)
        : args.task === 'chunk'
          ? await runChunk(ctx, args.rendition)
          : args.task === 'stitch'
            ? await runStitch(ctx, args.rendition)
            : await runRendition(ctx, args.rendition);
    ctx.log.info(
      {
        seconds: Math.round(performance.now() - started) / 1000,
        keys: result.keys,
        ...(reporter ? { progressReports: { sent: reporter.sent, dropped: reporter.dropped } } : {}),
      },
      'done',
    );
    if ('deferred' in result && result.deferred) {
      await writeTerminationMessage(
        terminationMessagePath(env),
        JSON.stringify({ deferred: result.deferred }),
        log,
      );
    } else if (args.task === 'chunk' && 'metadata' in result) {
      // the chunk's metadata for the operator when it fits; otherwise it reads chunk_<k>.json
      const text = JSON.stringify(result.metadata);
      if (Buffer.byteLength(text, 'utf8') <= MAX_TERMINATION_MESSAGE_BYTES)
        await writeTerminationMessage(terminationMessagePath(env), text, log);
    } else if ('metadata' in result && result.metadata && !('index' in result.metadata)) {
      // The rendition's result for the operator, read from the Pod's status at exit; never fails the task.
      const message = renditionTerminationMessage(result.metadata);
      if (message !== undefined) await writeTerminationMessage(terminationMessagePath(env), message, log);
      else
        ctx.log.info(
          'rendition.json is too long for the termination message: the operator waits for the Job',
        );
    }
    return EXIT_CODES.ok;
  } catch (err) {
    const failure =
      controller.signal.aborted && !(err instanceof TranscoderError && err.kind === 'badInput')
        ? (controller.signal.reason as TranscoderError)
        : toTranscoderError(err);
    const line = terminationLine(failure.message);
    log.error({ kind: failure.kind, exitCode: failure.exitCode, cause: describeCause(failure.cause) }, line);
    await writeTerminationMessage(terminationMessagePath(env), `${line}\n`, log);
    return failure.exitCode;
  } finally {
    await reporter?.stop().catch(() => undefined);
  }
}

async function writeTerminationMessage(file: string, text: string, log: ReturnType<typeof createLogger>) {
  try {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
  } catch (err) {
    log.warn({ file, err: (err as Error).message }, 'cannot write the termination message');
  }
}

function describeCause(cause: unknown): string | undefined {
  if (cause === undefined) return undefined;
  const e = cause as { message?: string; stderr?: string };
  return terminationLine([e.message, e.stderr].filter(Boolean).join(' | ') || String(cause), 4000);
}
