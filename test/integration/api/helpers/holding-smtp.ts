/**
 * A tiny SMTP server (node:net) that takes messages like a real one but holds its answer to the
 * end of each message's DATA until the test calls release(): a mail server as slow as the test
 * wants, without any timer (the test waits for `held` to reach a count, then releases).
 */
import net from 'node:net';

export interface HoldingSmtp {
  port: number;
  /** Messages whose DATA is complete and whose answer is held. */
  readonly held: number;
  /** Messages answered 250 so far. */
  readonly accepted: number;
  /** Answers every held message (and every later one at once). */
  release(): void;
  close(): Promise<void>;
}

export async function startHoldingSmtp(): Promise<HoldingSmtp> {
  const sockets = new Set<net.Socket>();
  const waiting: Array<() => void> = [];
  let released = false;
  let accepted = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('utf8');
    socket.write('220 holder.test ESMTP ready\r\n');
    let buffer = '';
    let inData = false;
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let i: number;
      while ((i = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            const answer = () => {
              accepted += 1;
              socket.write('250 2.0.0 queued\r\n');
            };
            if (released) answer();
            else waiting.push(answer);
          }
          continue;
        }
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 holder.test\r\n');
        else if (verb === 'MAIL' || verb === 'RCPT' || verb === 'RSET' || verb === 'NOOP')
          socket.write('250 OK\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 Bye\r\n');
        else socket.write('502 5.5.2 not implemented\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    get held() {
      return waiting.length;
    },
    get accepted() {
      return accepted;
    },
    release() {
      released = true;
      for (const answer of waiting.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
