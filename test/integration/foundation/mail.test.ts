/** A mail sent with nodemailer over SMTP is captured by maildev and read back through its REST API. */
import crypto from 'node:crypto';
import { expect } from 'chai';
import nodemailer from 'nodemailer';
import { listMail, waitForMail } from '../../support/mail.js';

describe('foundation: mail capture (maildev) with nodemailer', function () {
  it('captures a message and serves it through the REST API', async function () {
    const id = crypto.randomBytes(4).toString('hex');
    const to = `user-${id}@example.test`;
    const transport = nodemailer.createTransport({
      host: process.env.SMTP_HOST,
      port: Number(process.env.SMTP_PORT),
      secure: false,
    });
    try {
      const info = await transport.sendMail({
        from: '"Videoflix" <noreply@videoflix.test>',
        to,
        subject: `Confirm your email ${id}`,
        text: `Activate: http://frontend.test/activate/${id}`,
        html: `<p>Activate: <a href="http://frontend.test/activate/${id}">link</a></p>`,
      });
      expect(info.accepted).to.deep.equal([to]);
    } finally {
      transport.close();
    }

    const mail = await waitForMail({ to }, { timeoutMs: 5000 });
    expect(mail.subject).to.equal(`Confirm your email ${id}`);
    expect(mail.from[0]?.address).to.equal('noreply@videoflix.test');
    expect(mail.text).to.contain(`/activate/${id}`);
    expect(mail.html).to.contain(`href="http://frontend.test/activate/${id}"`);

    const raw = (await (await fetch(`${process.env.MAIL_API_URL}/email`)).json()) as Array<{
      subject: string;
    }>;
    expect(raw.map((m) => m.subject)).to.include(`Confirm your email ${id}`);
    expect(await listMail({ to: `nobody-${id}@example.test` })).to.deep.equal([]);
  });
});
