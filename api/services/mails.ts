/** The two mails the account flows send: texts of the original backend, links to the frontend. */
import type { MailMessage } from '../infra/mailer.js';

export function buildLink(frontendUrl: string, template: string, uid: string, token: string): string {
  const path = template
    .replaceAll('{uid}', encodeURIComponent(uid))
    .replaceAll('{token}', encodeURIComponent(token));
  return `${frontendUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function layout(paragraphs: string[], button: { href: string; label: string }): string {
  const p = (t: string) => `<p style="margin:0 0 24px 0;">${t}</p>`;
  return `<!DOCTYPE html>
<html lang="en">
<body style="margin:0;padding:0;background-color:#ffffff;font-family:Arial,Helvetica,sans-serif;color:#333333;">
<table role="presentation" width="100%" cellspacing="0" cellpadding="0" style="padding:40px 24px;"><tr>
<td style="max-width:900px;margin:0 auto;font-size:18px;line-height:1.5;">
${paragraphs.slice(0, 2).map(p).join('\n')}
<p style="margin:0 0 32px 0;"><a href="${escapeHtml(button.href)}" style="display:inline-block;background-color:#1825e8;color:#ffffff;text-decoration:none;padding:16px 32px;border-radius:40px;font-size:20px;font-weight:700;">${escapeHtml(button.label)}</a></p>
${paragraphs.slice(2).map(p).join('\n')}
</td></tr></table>
</body>
</html>`;
}

export function activationMail(to: string, link: string): MailMessage {
  return {
    to,
    subject: 'Confirm your email',
    text:
      'Dear user,\n\n' +
      'Thank you for registering with Videoflix. To complete your registration and verify your email address, ' +
      `please use this link:\n${link}\n\n` +
      'If you did not create an account with us, please disregard this email.\n\n' +
      'Best regards,\nYour Videoflix Team.',
    html: layout(
      [
        'Dear user,',
        'Thank you for registering with <span style="color:#1f22e8;">Videoflix</span>. To complete your registration and verify your email address, please click the link below:',
        'If you did not create an account with us, please disregard this email.',
        'Best regards,<br>Your Videoflix Team.',
      ],
      { href: link, label: 'Activate account' },
    ),
  };
}

export function passwordResetMail(to: string, link: string, validHours: number): MailMessage {
  const validity = `Please note that for security reasons, this link is only valid for ${validHours} hours.`;
  return {
    to,
    subject: 'Reset your password',
    text:
      'Hello,\n\n' +
      'We recently received a request to reset your password. ' +
      `If you made this request, please use this link:\n${link}\n\n` +
      `${validity}\n\n` +
      'If you did not request a password reset, please ignore this email.\n\n' +
      'Best regards,\nYour Videoflix team!',
    html: layout(
      [
        'Hello,',
        'We recently received a request to reset your password. If you made this request, please click on the following link to reset your password:',
        validity,
        'If you did not request a password reset, please ignore this email.',
        'Best regards,<br>Your Videoflix team!',
      ],
      { href: link, label: 'Reset password' },
    ),
  };
}

/** Addition (ASVS 6.3.7): the account's password was changed while signed in. */
export function passwordChangedMail(to: string, frontendUrl: string): MailMessage {
  const notYou =
    'If you did not change it, someone else knows your password: request a password reset at once.';
  return {
    to,
    subject: 'Your password was changed',
    text:
      'Hello,\n\n' +
      'The password of your Videoflix account was just changed, and every other device was signed out.\n\n' +
      `${notYou}\n${frontendUrl}\n\n` +
      'Best regards,\nYour Videoflix team!',
    html: layout(
      [
        'Hello,',
        'The password of your Videoflix account was just changed, and every other device was signed out.',
        escapeHtml(notYou),
        'Best regards,<br>Your Videoflix team!',
      ],
      { href: frontendUrl, label: 'Open Videoflix' },
    ),
  };
}
