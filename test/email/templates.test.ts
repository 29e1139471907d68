import { beforeAll, describe, expect, it } from 'vitest';
import { pickLanguage } from '../../src/email/strings';
import { type CompiledTemplates, compileTemplates, formatDate, renderEmail } from '../../src/email/templates';

let templates: CompiledTemplates;
beforeAll(async () => {
  templates = await compileTemplates();
});

const content = {
  language: 'en',
  inviterName: 'Grace <Hopper>',
  inviteeName: 'Ada',
  inviteeEmail: 'ada@example.com',
  tenantName: 'Acme & Co',
  roleName: 'Admin',
  expiresOn: '8 December 2026',
  message: 'Hi {{acceptUrl}} {{{messageHtml}}} <script>alert(1)</script>\nsecond line',
  acceptUrl: 'https://usher.example/invite/abc',
  headerText: null,
  footerText: null,
};

describe('email rendering', () => {
  it('treats the inviter’s words and names as text, never as markup or template code', () => {
    const email = renderEmail(templates, 'invitation', content);
    expect(email.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;<br>second line');
    expect(email.html).not.toContain('<script>');
    expect(email.html).toContain('Hi {{acceptUrl}} {{{messageHtml}}}');
    expect(email.html).toContain('Grace &lt;Hopper&gt;');
    expect(email.html).toContain('Acme &amp; Co');
    expect(email.html).toContain('href="https://usher.example/invite/abc"');
  });

  it('has a text part with the link and the message', () => {
    const email = renderEmail(templates, 'invitation', content);
    expect(email.subject).toBe('Grace <Hopper> invited you to Acme & Co');
    expect(email.text).toContain('Accept invitation: https://usher.example/invite/abc');
    expect(email.text).toContain('<script>alert(1)</script>');
  });

  it('writes German when asked in any of the accepted forms, English otherwise', () => {
    for (const code of ['de', 'DE', 'de-DE', 'de_AT']) expect(pickLanguage(code)).toBe('de');
    for (const code of ['fr', 'german', 'd', '', null, 'de-']) expect(pickLanguage(code)).toBe('en');
    expect(renderEmail(templates, 'invitation', { ...content, language: 'de-DE' }).subject).toBe('Grace <Hopper> hat Sie zu Acme & Co eingeladen');
  });

  it('writes the expiry date in the invitation’s language, on the UTC calendar day', () => {
    const late = new Date('2026-12-08T23:30:00Z');
    // In turns, so that a formatter kept for one language is never used for the other.
    expect(formatDate(late, 'en')).toBe('8 December 2026');
    expect(formatDate(late, 'de-DE')).toBe('8. Dezember 2026');
    expect(formatDate(new Date('2027-01-01T00:00:00Z'), null)).toBe('1 January 2027');
    expect(formatDate(new Date('2027-01-01T00:00:00Z'), 'de')).toBe('1. Januar 2027');
  });
});
