/** Reading Set-Cookie headers in tests. */
export interface SetCookie {
  name: string;
  value: string;
  attributes: Record<string, string | true>;
}

export function parseSetCookies(header: string | string[] | undefined): Map<string, SetCookie> {
  const list = header === undefined ? [] : Array.isArray(header) ? header : [header];
  const out = new Map<string, SetCookie>();
  for (const line of list) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair!.indexOf('=');
    const name = pair!.slice(0, eq);
    const attributes: Record<string, string | true> = {};
    for (const a of attrs) {
      const i = a.indexOf('=');
      if (i === -1) attributes[a.toLowerCase()] = true;
      else attributes[a.slice(0, i).toLowerCase()] = a.slice(i + 1);
    }
    out.set(name, { name, value: decodeURIComponent(pair!.slice(eq + 1)), attributes });
  }
  return out;
}

/** A Cookie request header from name → value pairs. */
export function cookieHeader(cookies: Record<string, string>): string {
  return Object.entries(cookies)
    .map(([k, v]) => `${k}=${v}`)
    .join('; ');
}
