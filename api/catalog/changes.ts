/**
 * This replica's ear on the videos table: a PostgreSQL session of its own that LISTENs on the channel
 * the table's triggers notify (migration 0006), so the users' list (list-cache.ts) learns of any
 * write, another replica's included, the moment it commits, without a query per request.
 *
 * `generation` changes on every notification and whenever the session (re)connects (what happened
 * while it was away is unknown). `listening` is false until LISTEN succeeded and from the moment the
 * session fails: the list then asks the table on every request again (its fingerprint), as before.
 * Reconnects back off (common/backoff) up to `maxBackoffMs`.
 */
import pg from 'pg';
import type { Sequelize } from 'sequelize';
import { backoffDelay, sleep } from '../../common/backoff/index.js';
import type { Logger } from '../../common/logging/index.js';

export const CATALOG_CHANNEL = 'videoflix_catalog';

/** What the list cache reads (tests pass their own). */
export interface ChangeFeed {
  readonly generation: number;
  readonly listening: boolean;
}

export interface CatalogChangesOptions {
  /** Connection settings are those of this pool (host, port, user, database, SSL, application name). */
  sequelize: Sequelize;
  logger: Logger;
  maxBackoffMs?: number;
}

export class CatalogChanges implements ChangeFeed {
  generation = 0;
  listening = false;
  private client?: pg.Client;
  private stopping?: AbortController;
  private loop?: Promise<void>;

  constructor(private readonly o: CatalogChangesOptions) {}

  start(): void {
    if (this.loop) return;
    const stop = new AbortController();
    this.stopping = stop;
    this.loop = this.run(stop.signal);
  }

  async stop(): Promise<void> {
    this.stopping?.abort();
    this.listening = false;
    await this.client?.end().catch(() => undefined);
    await this.loop;
    this.loop = undefined;
  }

  private connectionConfig(): pg.ClientConfig {
    const c = this.o.sequelize.config;
    const d = (c.dialectOptions ?? {}) as { ssl?: pg.ClientConfig['ssl']; application_name?: string };
    return {
      host: c.host,
      port: c.port === undefined ? undefined : Number(c.port),
      user: c.username,
      password: c.password ?? undefined,
      database: c.database,
      ...(d.ssl ? { ssl: d.ssl } : {}),
      application_name: `${d.application_name ?? 'videoflix-api'}-listen`,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    };
  }

  private async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      const client = new pg.Client(this.connectionConfig());
      this.client = client;
      // 'error' may come more than once (and after 'end'): always listened to, the first one counts
      const ended = new Promise<Error | undefined>((resolve) => {
        client.on('error', (err: Error) => resolve(err));
        client.once('end', () => resolve(undefined));
      });
      client.on('notification', (n) => {
        if (n.channel === CATALOG_CHANNEL) this.generation++;
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${CATALOG_CHANNEL}`);
        this.generation++; // writes while no session listened are unknown: count them as a change
        this.listening = true;
        attempt = 0;
        this.o.logger.info({ channel: CATALOG_CHANNEL }, 'listening for catalog changes');
        const err = await ended;
        if (!signal.aborted)
          this.o.logger.warn({ err: err?.message }, 'catalog change listener lost its session; reconnecting');
      } catch (err) {
        if (!signal.aborted)
          this.o.logger.warn({ err: (err as Error).message }, 'catalog change listener could not listen');
      } finally {
        this.listening = false;
        this.generation++;
        await client.end().catch(() => undefined);
      }
      attempt++;
      await sleep(backoffDelay(attempt, 500, this.o.maxBackoffMs ?? 30_000, 0.2), signal);
    }
  }
}
