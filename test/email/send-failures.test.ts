import { describe, expect, it } from 'vitest';
import { classifySendFailure } from '../../src/email/mailer';

/** nodemailer's errors as it builds them (code, command, response, responseCode, permanent). */
const smtpError = (code: string, command: string, response?: string) => {
  const responseCode = response ? Number(response.slice(0, 3)) : undefined;
  return Object.assign(new Error(`${code} failed${response ? `: ${response}` : ''}`), {
    code,
    command,
    ...(response ? { response, responseCode, permanent: responseCode! >= 500 && responseCode !== 503 } : {}),
  });
};

describe('a failed send is final or worth retrying', () => {
  it('a 5xx to the envelope or the message is final, at every stage', () => {
    expect(classifySendFailure(smtpError('EENVELOPE', 'MAIL FROM', '553 sender rejected'))).toEqual({ kind: 'refused', stage: 'MAIL FROM', reply: '553 sender rejected' });
    expect(classifySendFailure(smtpError('EENVELOPE', 'RCPT TO', '550 no such user'))).toEqual({ kind: 'refused', stage: 'RCPT TO', reply: '550 no such user' });
    expect(classifySendFailure(smtpError('EENVELOPE', 'DATA', '554 no valid recipients'))).toEqual({ kind: 'refused', stage: 'DATA', reply: '554 no valid recipients' });
    expect(classifySendFailure(smtpError('EMESSAGE', 'DATA', '554 5.7.1 message rejected as spam'))).toMatchObject({ kind: 'refused', stage: 'DATA' });
  });

  it('an address nodemailer cannot send to at all is final', () => {
    expect(classifySendFailure(smtpError('EENVELOPE', 'API'))).toMatchObject({ kind: 'refused', stage: 'RCPT TO' });
  });

  it('4xx, 503, timeouts, dropped connections and a refused login are retried', () => {
    for (const err of [
      smtpError('EENVELOPE', 'RCPT TO', '451 greylisted, try later'),
      smtpError('EMESSAGE', 'DATA', '421 too busy'),
      smtpError('EENVELOPE', 'RCPT TO', '503 bad sequence of commands'),
      smtpError('ETIMEDOUT', 'CONN'),
      smtpError('ECONNECTION', 'CONN'),
      smtpError('EAUTH', 'AUTH PLAIN', '535 authentication failed'),
      smtpError('EPROTOCOL', 'CONN', '554 no SMTP service here'),
      new Error('something else'),
    ]) {
      expect(classifySendFailure(err), err.message).toMatchObject({ kind: 'transient' });
    }
    expect(classifySendFailure(smtpError('EAUTH', 'AUTH PLAIN', '535 authentication failed'))).toEqual({ kind: 'transient', description: 'EAUTH: 535 authentication failed' });
  });
});
