/**
 * A tiny SMTP server (node:net) that greets and answers EHLO like a real one, then refuses every
 * message permanently (550 on MAIL FROM): what a mail provider does when it will not take our mail.
 */
import net from 'node:net';

export interface RefusingSmtp {
  port: number;
  /** SMTP commands received, for assertions. */
  commands: string[];
  close(): Promise<void>;
}

export async function startRefusingSmtp(): Promise<RefusingSmtp> {
  const commands: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('utf8');
    socket.write('220 refuser.test ESMTP ready\r\n');
    let buffer = '';
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let i: number;
      while ((i = buffer.indexOf('\r\n')) !== -1) {
        const line = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        commands.push(line);
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 refuser.test\r\n');
        else if (verb === 'MAIL') socket.write('550 5.7.1 Mail refused by policy\r\n');
        else if (verb === 'RSET' || verb === 'NOOP') socket.write('250 OK\r\n');
        else if (verb === 'QUIT') socket.end('221 Bye\r\n');
        else socket.write('503 5.5.1 Bad sequence of commands\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    commands,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
