/** Readiness probes: TCP, HTTP(S), AMQP, and one request to the API server as admin. */
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import amqp from 'amqplib';
import type { HostEnvState } from './types.js';

export function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host });
    sock.setTimeout(1000);
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(false));
  });
}

export async function httpAnswers(url: string, okOnly = false): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return okOnly ? res.ok : true;
  } catch {
    return false;
  }
}

export function httpsStatus(url: string, ca: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** One request to the environment's API server as admin (client certificate from its pki). */
export function kubeRequest(
  state: HostEnvState,
  method: string,
  apiPath: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  const pki = path.join(state.root, 'pki');
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${state.apiserverUrl}${apiPath}`,
      {
        method,
        ca: fs.readFileSync(path.join(pki, 'ca.crt')),
        cert: fs.readFileSync(path.join(pki, 'admin.crt')),
        key: fs.readFileSync(path.join(pki, 'admin.key')),
        headers: payload ? { 'content-type': 'application/json' } : {},
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${apiPath}: timeout`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export async function amqpAnswers(url: string): Promise<boolean> {
  try {
    const conn = await amqp.connect(url, { timeout: 2000 });
    conn.on('error', () => undefined);
    await conn.close();
    return true;
  } catch {
    return false;
  }
}
