import { describe, expect, it } from 'vitest';
import { emailAddress } from '../../src/lib/email-address';
import { redirectAllowed } from '../../src/invitations/policy';

describe('redirect allow-list', () => {
  const hosts = ['app.example.com', 'localhost:3000'];
  it('allows listed hosts over http(s) only', () => {
    expect(redirectAllowed('https://app.example.com/welcome?x=1', hosts)).toBe(true);
    expect(redirectAllowed('http://localhost:3000/', hosts)).toBe(true);
    expect(redirectAllowed('https://evil.example.com/', hosts)).toBe(false);
    expect(redirectAllowed('https://app.example.com.evil.com/', hosts)).toBe(false);
    expect(redirectAllowed('javascript:alert(1)//app.example.com', hosts)).toBe(false);
    expect(redirectAllowed('not a url', hosts)).toBe(false);
  });
});

describe('email addresses', () => {
  it('refuses header injection and non-addresses', () => {
    expect(emailAddress.safeParse('ada@example.com').success).toBe(true);
    expect(emailAddress.safeParse('ada@example.com\r\nBcc: all@example.com').success).toBe(false);
    expect(emailAddress.safeParse('ada@example.com\n').success).toBe(false);
    expect(emailAddress.safeParse('not-an-email').success).toBe(false);
  });
});
