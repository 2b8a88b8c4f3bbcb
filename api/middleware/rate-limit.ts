// Over 300 lines: every endpoint's budget beside the one PostgreSQL store and key scheme they share.
/**
 * Rate limits of the endpoints that guess or send mail, counted in PostgreSQL (the `rate_limits`
 * table of migration 0005, through rate-limiter-flexible), so every API replica spends the same
 * budget and a restart forgets nothing.
 *
 * | route                    | key                                     | counts            | store down  |
 * |--------------------------|-----------------------------------------|-------------------|-------------|
 * | login                    | client address                          | failed sign-ins   | memory      |
 * | login                    | account + client address                | failed sign-ins   | memory      |
 * | login (slow-down)        | account, any address (never refuses)    | failed sign-ins   | memory      |
 * | register                 | client address                          | every request     | 503         |
 * | password_reset           | client address                          | every request     | 503         |
 * | password_confirm         | client address                          | failed attempts   | memory      |
 * | activate                 | client address                          | failed attempts   | memory      |
 * | token/refresh            | client address                          | failed refreshes  | memory      |
 * | password_change          | signed-in account; client address       | wrong old pwds    | memory      |
 *
 * No budget is per account alone: a stranger who knows an address could otherwise lock its owner
 * out. Instead each failed sign-in of an account (from anywhere) makes the next sign-ins of that
 * account wait longer before they are checked (ASVS 5.0 V6.3.1: doubling from
 * RATE_LIMIT_LOGIN_SLOWDOWN_BASE_MS up to RATE_LIMIT_LOGIN_SLOWDOWN_MAX_MS), the right password
 * included, whatever the outcome, so the wait tells nothing.
 *
 * "Counts failed ..." budgets take a point before the attempt and give it back when it succeeded
 * (before the answer is sent), so concurrent guesses cannot overrun the budget.
 *
 * When the store fails (or takes longer than RATE_LIMIT_STORE_TIMEOUT_MS) a route either falls back
 * to a counter in this process's memory ("memory": the same budget per replica; sign-in and session
 * refresh keep working, guessing stays bounded) or answers 503 with Retry-After ("503": register
 * and password_reset send mail to any address, so they are not served without the shared limit).
 * Never a 500. Client addresses come from `req.ip`, so TRUST_PROXY must match the ingress in front;
 * IPv6 addresses count per /56 network.
 */
import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Sequelize } from 'sequelize';
import type { Logger } from '../../common/logging/index.js';
import { AppError, errors } from '../errors.js';

/** Created by migration 0005 (the library never creates tables here). */
export const RATE_LIMIT_TABLE = 'rate_limits';

export type OnStoreError = 'memory' | 'refuse';

export interface RateLimitSettings {
  windowSeconds: number;
  /** Failed sign-ins per (account, client address). */
  loginMax: number;
  /** Failed sign-ins per client address, any account. */
  loginIpMax: number;
  slowdown: SlowdownSettings;
  registerMax: number;
  passwordResetMax: number;
  passwordConfirmMax: number;
  activationMax: number;
  refreshMax: number;
  /** Wrong old passwords on password_change, per account and per client address. */
  passwordChangeMax: number;
  storeTimeoutMs: number;
}

export interface SlowdownSettings {
  /** Failed sign-ins of an account (any address, this window) before its sign-ins wait. */
  after: number;
  baseMs: number;
  maxMs: number;
}

/** The wait before checking a sign-in of an account that failed `failures` times: 0, then base·2ⁿ up to max. */
export function slowdownMs(failures: number, s: SlowdownSettings): number {
  if (failures < s.after) return 0;
  const n = Math.min(failures - s.after, 30);
  return Math.min(s.maxMs, s.baseMs * 2 ** n);
}

/** The client address as a key (an IPv6 address stands for its /56 network). */
export function clientKey(req: Request): string {
  return ipKeyGenerator(req.ip ?? 'unknown');
}

/**
 * An account as a key: a hash of the address as typed, trimmed and lower-cased (as sign-in looks it
 * up), so unknown and known addresses count alike and no address is stored in clear.
 */
export function accountKey(email: unknown): string {
  const normalized = typeof email === 'string' ? email.trim().toLowerCase() : '';
  return createHash('sha256').update(normalized).digest('base64url').slice(0, 32);
}

const storeUnavailable = () =>
  new AppError(
    503,
    'rate_limit_unavailable',
    'Service temporarily unavailable, try again later.',
    undefined,
    { 'Retry-After': '30' },
  );

class StoreTimeout extends Error {
  constructor(ms: number) {
    super(`rate-limit store did not answer within ${ms} ms`);
    this.name = 'StoreTimeout';
  }
}

/** Where a taken point was counted, so that a refund goes to the same place. */
interface Taken {
  budget: Budget;
  key: string;
  where: 'shared' | 'local';
}

/** What the budgets share: the PostgreSQL client, the store timeout, and one throttled warning. */
class Store {
  private lastWarned = 0;
  private suppressed = 0;
  private clearing = false;

  constructor(
    readonly sequelize: Sequelize,
    readonly timeoutMs: number,
    private readonly logger: Logger,
    /** Called with the budget's name on every 429 (the API's metrics). */
    readonly onRefused: (limiter: string) => void = () => undefined,
  ) {}

  /** Only the first limiter deletes expired rows (every 5 minutes, the library's timer, unref'd). */
  takeClearingDuty(): boolean {
    if (this.clearing) return false;
    this.clearing = true;
    return true;
  }

  async run<T>(op: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreTimeout(this.timeoutMs)), this.timeoutMs);
    });
    try {
      return await Promise.race([op(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  failed(budget: string, err: unknown): void {
    const now = Date.now();
    if (now - this.lastWarned < 30_000) {
      this.suppressed++;
      return;
    }
    this.logger.warn(
      {
        budget,
        err: err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : String(err),
        suppressed: this.suppressed,
      },
      'rate-limit store unavailable: falling back per route (memory counter or 503)',
    );
    this.lastWarned = now;
    this.suppressed = 0;
  }
}

/** One budget: `points` per `seconds` per key, counted in the shared table (prefix = name). */
export class Budget {
  private readonly shared: RateLimiterPostgres;
  private readonly local: RateLimiterMemory;

  constructor(
    readonly name: string,
    readonly points: number,
    readonly seconds: number,
    private readonly store: Store,
    readonly onStoreError: OnStoreError,
  ) {
    this.shared = new RateLimiterPostgres({
      storeClient: store.sequelize,
      storeType: 'sequelize',
      tableName: RATE_LIMIT_TABLE,
      tableCreated: true,
      clearExpiredByTimeout: store.takeClearingDuty(),
      keyPrefix: name,
      points,
      duration: seconds,
    });
    this.local = new RateLimiterMemory({ keyPrefix: name, points, duration: seconds });
  }

  /** Takes one point; 429 (Retry-After) when the budget is spent; 503 when the store fails and the policy says so. */
  async take(key: string): Promise<Taken> {
    try {
      await this.store.run(() => this.shared.consume(key));
      return { budget: this, key, where: 'shared' };
    } catch (err) {
      if (err instanceof RateLimiterRes) throw this.refused(err);
      this.store.failed(this.name, err);
      if (this.onStoreError === 'refuse') throw storeUnavailable();
    }
    try {
      await this.local.consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw this.refused(err);
      throw err;
    }
    return { budget: this, key, where: 'local' };
  }

  private refused(res: RateLimiterRes): AppError {
    this.store.onRefused(this.name);
    return throttled(res);
  }

  /** Counts one more without ever refusing (the slow-down's failure count). */
  async add(key: string): Promise<void> {
    try {
      await this.store.run(() => this.shared.penalty(key, 1));
      return;
    } catch (err) {
      this.store.failed(this.name, err);
    }
    await this.local.penalty(key, 1);
  }

  /** Points used by `key` in its current window. */
  async used(key: string): Promise<number> {
    try {
      const res = await this.store.run(() => this.shared.get(key));
      return res?.consumedPoints ?? 0;
    } catch (err) {
      this.store.failed(this.name, err);
    }
    return (await this.local.get(key))?.consumedPoints ?? 0;
  }

  /** Gives a taken point back (best effort: a store failure only means the point stays spent). */
  static async refund(t: Taken): Promise<void> {
    const limiter = t.where === 'shared' ? t.budget.shared : t.budget.local;
    try {
      await t.budget.store.run(() => limiter.reward(t.key, 1));
    } catch (err) {
      t.budget.store.failed(t.budget.name, err);
    }
  }

  /** Forgets `key` (a successful sign-in clears its account + address count). */
  async clear(key: string): Promise<void> {
    this.local.delete(key).catch(() => undefined);
    try {
      await this.store.run(() => this.shared.delete(key));
    } catch (err) {
      this.store.failed(this.name, err);
    }
  }

  /** Middleware: every request takes a point of the client address's budget. */
  perRequest(): RequestHandler {
    return async (req, _res, next) => {
      await this.take(clientKey(req));
      next();
    };
  }

  /**
   * Runs `fn` as one attempt of the client address: a point is taken first (429 when spent) and
   * given back when `fn` succeeds or fails with an error that is not a failed guess (`counts`).
   */
  async attempt<T>(req: Request, counts: (err: unknown) => boolean, fn: () => Promise<T>): Promise<T> {
    const taken = await this.take(clientKey(req));
    try {
      const result = await fn();
      await Budget.refund(taken);
      return result;
    } catch (err) {
      if (!counts(err)) await Budget.refund(taken);
      throw err;
    }
  }
}

function throttled(res: RateLimiterRes): AppError {
  return errors.throttled(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
}

/** True for an AppError with one of `codes` (the failed guesses of a route). */
export function failedWith(...codes: string[]): (err: unknown) => boolean {
  return (err) => err instanceof AppError && codes.includes(err.code);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sign-in: per-address and per-(account, address) budgets of failures, and the per-account slow-down. */
export class LoginLimits {
  constructor(
    private readonly byIp: Budget,
    private readonly byAccountIp: Budget,
    private readonly byAccount: Budget,
    private readonly slowdown: SlowdownSettings,
  ) {}

  /** The wait before the next sign-in of `email` is checked (for tests and logs). */
  async delayFor(email: string): Promise<number> {
    return slowdownMs(await this.byAccount.used(accountKey(email)), this.slowdown);
  }

  async attempt<T>(req: Request, email: string, fn: () => Promise<T>): Promise<T> {
    const ip = clientKey(req);
    const account = accountKey(email);
    const ipPoint = await this.byIp.take(ip);
    const [accountIp, failures] = await Promise.allSettled([
      this.byAccountIp.take(`${account}:${ip}`),
      this.byAccount.used(account),
    ]);
    if (accountIp.status === 'rejected') {
      await Budget.refund(ipPoint); // throttled for this account only: the address's budget is not spent
      throw accountIp.reason;
    }
    const accountIpPoint = accountIp.value;
    const wait = failures.status === 'fulfilled' ? slowdownMs(failures.value, this.slowdown) : 0;
    if (wait > 0) await sleep(wait);
    try {
      const result = await fn();
      await Promise.all([Budget.refund(ipPoint), this.byAccountIp.clear(`${account}:${ip}`)]);
      return result;
    } catch (err) {
      if (failedWith('invalid_credentials')(err)) await this.byAccount.add(account);
      else await Promise.all([Budget.refund(ipPoint), Budget.refund(accountIpPoint)]);
      throw err;
    }
  }
}

/**
 * password_change (signed in): wrong old passwords per account and per client address. Only the
 * session's holder can spend the account's budget, so it locks out no one but a session thief.
 */
export class PasswordChangeLimits {
  constructor(
    private readonly byIp: Budget,
    private readonly byAccount: Budget,
  ) {}

  /** Express middleware form: takes both points, gives them back unless the old password was wrong. */
  guard(): RequestHandler {
    return async (req, res, next) => {
      const points: Taken[] = [await this.byIp.take(clientKey(req))];
      try {
        points.push(await this.byAccount.take(String(req.user?.id ?? '-')));
      } catch (err) {
        await Budget.refund(points[0]!);
        throw err;
      }
      res.locals.passwordChangePoints = points;
      next();
    };
  }

  /** Gives the points back (the old password was right, or the request failed for another reason). */
  async settle(res: { locals: Record<string, unknown> }, wrongOldPassword: boolean): Promise<void> {
    const points = (res.locals.passwordChangePoints as Taken[] | undefined) ?? [];
    if (!wrongOldPassword) await Promise.all(points.map((p) => Budget.refund(p)));
  }
}

/** password_change's failed guess: a validation error naming old_password. */
export function wrongOldPassword(err: unknown): boolean {
  return err instanceof AppError && err.code === 'validation_failed' && 'old_password' in (err.body ?? {});
}

export interface RateLimits {
  login: LoginLimits;
  register: RequestHandler;
  passwordReset: RequestHandler;
  passwordConfirm: Budget;
  activation: Budget;
  refresh: Budget;
  passwordChange: PasswordChangeLimits;
}

export function createRateLimits(
  s: RateLimitSettings,
  sequelize: Sequelize,
  logger: Logger,
  onRefused?: (limiter: string) => void,
): RateLimits {
  const store = new Store(sequelize, s.storeTimeoutMs, logger, onRefused);
  const budget = (name: string, points: number, onStoreError: OnStoreError) =>
    new Budget(name, points, s.windowSeconds, store, onStoreError);
  return {
    login: new LoginLimits(
      budget('login-ip', s.loginIpMax, 'memory'),
      budget('login-account-ip', s.loginMax, 'memory'),
      budget('login-account', 2 ** 30, 'memory'),
      s.slowdown,
    ),
    register: budget('register', s.registerMax, 'refuse').perRequest(),
    passwordReset: budget('password-reset', s.passwordResetMax, 'refuse').perRequest(),
    passwordConfirm: budget('password-confirm', s.passwordConfirmMax, 'memory'),
    activation: budget('activation', s.activationMax, 'memory'),
    refresh: budget('refresh', s.refreshMax, 'memory'),
    passwordChange: new PasswordChangeLimits(
      budget('password-change-ip', s.passwordChangeMax, 'memory'),
      budget('password-change-account', s.passwordChangeMax, 'memory'),
    ),
  };
}
