/**
 * Entry point of the transcoder image:
 *   node /app/dist/transcoder-image/main.js thumbnail
 *   node /app/dist/transcoder-image/main.js rendition <480p|720p|1080p>
 *
 * As PID 1 in a container, node ignores SIGTERM until a handler exists, and loading the program's
 * module graph (pino, minio, fluent-ffmpeg) takes a moment: a Pod stopped in that window would run
 * until its grace period ends. So the handlers are registered here, before the program is imported;
 * nothing has started yet, so a signal then simply ends the process.
 */
const early = (sig: NodeJS.Signals) => process.exit(sig === 'SIGINT' ? 130 : 143);
process.once('SIGTERM', early);
process.once('SIGINT', early);

const { main } = await import('./program.js');
process.off('SIGTERM', early);
process.off('SIGINT', early);
process.exit(await main(process.argv.slice(2), process.env));
