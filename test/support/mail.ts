/**
 * The captured mail of the host environment, read through maildev's REST API
 * (MAIL_API_URL is its base: `${MAIL_API_URL}/email` lists every message). The chart's mail catcher asks for
 * HTTP basic auth: MAIL_USER and MAIL_PASSWORD (hack/dev.sh writes them to endpoints.env) are sent when set;
 * the host tier's maildev has none.
 * The inbox is shared by everything that uses the environment: filter by recipient (use a unique
 * address per test) rather than relying on clearMail() when environments are shared.
 */
import { waitFor, type WaitOptions } from './waiters.js';

export interface MailAddress {
  address: string;
  name: string;
}

/** The fields of a maildev message that tests use (maildev returns more). */
export interface CapturedMail {
  id: string;
  subject: string;
  text?: string;
  html?: string;
  from: MailAddress[];
  to: MailAddress[];
  cc?: MailAddress[];
  headers: Record<string, string | string[]>;
  date?: string;
  time: string;
  attachments?: Array<{ fileName?: string; contentType: string }>;
}

export interface MailFilter {
  /** Recipient address (To or Cc), compared case-insensitively. */
  to?: string;
  /** Exact subject, or a pattern it must match. */
  subject?: string | RegExp;
}

function apiBase(): string {
  const base = process.env.MAIL_API_URL;
  if (!base) throw new Error('MAIL_API_URL is not set: is the host environment running?');
  return base.replace(/\/$/, '');
}

/** The Authorization header for MAIL_USER / MAIL_PASSWORD, when they are set. */
export function mailAuthHeaders(): Record<string, string> {
  const user = process.env.MAIL_USER;
  if (!user) return {};
  const token = Buffer.from(`${user}:${process.env.MAIL_PASSWORD ?? ''}`).toString('base64');
  return { authorization: `Basic ${token}` };
}

function matches(mail: CapturedMail, filter: MailFilter): boolean {
  if (filter.to) {
    const want = filter.to.toLowerCase();
    if (![...mail.to, ...(mail.cc ?? [])].some((a) => a.address.toLowerCase() === want)) return false;
  }
  if (filter.subject !== undefined) {
    if (
      typeof filter.subject === 'string'
        ? mail.subject !== filter.subject
        : !filter.subject.test(mail.subject)
    )
      return false;
  }
  return true;
}

/** Every captured message (oldest first), optionally filtered. */
export async function listMail(filter: MailFilter = {}): Promise<CapturedMail[]> {
  const res = await fetch(`${apiBase()}/email`, { headers: mailAuthHeaders() });
  if (!res.ok) throw new Error(`GET ${apiBase()}/email: ${res.status} ${await res.text()}`);
  const all = (await res.json()) as CapturedMail[];
  return all.filter((m) => matches(m, filter));
}

/** Deletes every captured message (of everyone using this environment). */
export async function clearMail(): Promise<void> {
  const res = await fetch(`${apiBase()}/email/all`, { method: 'DELETE', headers: mailAuthHeaders() });
  if (!res.ok) throw new Error(`DELETE ${apiBase()}/email/all: ${res.status} ${await res.text()}`);
}

/** Waits until a message matching `filter` arrived and returns the newest such message. */
export async function waitForMail(filter: MailFilter, opts: WaitOptions = {}): Promise<CapturedMail> {
  const found = await waitFor(async () => (await listMail(filter)).at(-1), {
    timeoutMs: 10_000,
    what: `mail matching ${JSON.stringify({ to: filter.to, subject: String(filter.subject ?? '') })}`,
    ...opts,
  });
  return found;
}
