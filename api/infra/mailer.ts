/** Outgoing mail over SMTP (nodemailer), behind a small interface the services use. */
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  /** Resolves once the SMTP server accepted the message; rejects with MailDeliveryError otherwise. */
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export class MailDeliveryError extends Error {
  constructor(cause: unknown) {
    super(`mail delivery failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'MailDeliveryError';
  }
}

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  requireTls: boolean;
  user?: string;
  password?: string;
  timeoutMs: number;
  from: string;
}

export function createSmtpMailer(s: SmtpSettings): Mailer {
  const options: SMTPTransport.Options = {
    host: s.host,
    port: s.port,
    secure: s.secure,
    requireTLS: s.requireTls,
    auth: s.user ? { user: s.user, pass: s.password ?? '' } : undefined,
    connectionTimeout: s.timeoutMs,
    greetingTimeout: s.timeoutMs,
    socketTimeout: s.timeoutMs,
    // a new connection per message: nothing to keep alive between rare mails
  };
  const transport = nodemailer.createTransport(options);
  return {
    async send(m) {
      try {
        const info = await transport.sendMail({
          from: s.from,
          to: m.to,
          subject: m.subject,
          text: m.text,
          html: m.html,
        });
        if (info.rejected.length > 0) throw new Error('recipient rejected');
      } catch (err) {
        throw new MailDeliveryError(err);
      }
    },
    close() {
      transport.close();
    },
  };
}
