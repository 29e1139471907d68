/**
 * R4: one email rendered from the templates compiled once at start-up (what the worker does) against `mjml2html` run
 * for every email on the layout with that email's values filled in (what compiling per email would cost).
 */
import { readFile } from 'node:fs/promises';
import mjml2html from 'mjml';
import { compileTemplates, type EmailContent, renderEmail } from '../src/email/templates';
import { escapeHtml } from '../src/lib/html-escape';

export interface RenderResult {
  compiledUs: number;
  compiledCount: number;
  mjmlUs: number;
  mjmlCount: number;
  ratio: number;
  compileOnceMs: number;
}

const content = (i: number): EmailContent => ({
  language: 'en',
  inviterName: 'Grace Hopper',
  inviteeName: `Invitee ${i}`,
  inviteeEmail: `invitee-${i}@bench.example`,
  tenantName: 'Acme & Co',
  roleName: 'Member',
  expiresOn: '8 December 2026',
  message: `Welcome aboard, number ${i}!\nSee you on Monday.`,
  acceptUrl: `https://usher.example/invite/${String(i).padStart(43, 'x')}`,
  headerText: 'Acme onboarding',
  footerText: 'Acme & Co, 1 Main Street',
});

export async function measureRendering(options: { compiled: number; mjml: number }): Promise<RenderResult> {
  const t0 = performance.now();
  const templates = await compileTemplates();
  const compileOnceMs = performance.now() - t0;
  // Warm both paths up (JIT, MJML's lazy requires) before timing them.
  for (let i = 0; i < 200; i++) renderEmail(templates, 'invitation', content(i));
  const source = await readFile(new URL('../src/email/templates/invitation.mjml', import.meta.url), 'utf8');
  const perEmail = async (i: number) => {
    const email = renderEmail(templates, 'invitation', content(i));
    const c = content(i);
    const values: Record<string, string> = {
      subject: email.subject,
      inviterName: c.inviterName,
      tenantName: c.tenantName,
      heading: `Join ${c.tenantName}`,
      greeting: `Hello ${c.inviteeName},`,
      intro: `${c.inviterName} invited you to join ${c.tenantName} as ${c.roleName}.`,
      buttonLabel: 'Accept invitation',
      expiryNote: `This invitation expires on ${c.expiresOn}.`,
      linkNote: 'If the button does not work, open this link:',
      acceptUrl: c.acceptUrl ?? '',
      headerText: c.headerText ?? '',
      footerText: c.footerText ?? '',
    };
    const messageHtml = escapeHtml(c.message ?? '').replace(/\n/g, '<br>');
    const filled = source.replace(/\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}/g, (_m, raw: string | undefined, name: string | undefined) =>
      raw !== undefined ? messageHtml : escapeHtml(values[name!] ?? ''),
    );
    return (await mjml2html(filled, { validationLevel: 'strict', minify: false })).html;
  };
  for (let i = 0; i < 3; i++) await perEmail(i);

  let sink = 0;
  const c0 = performance.now();
  for (let i = 0; i < options.compiled; i++) sink += renderEmail(templates, 'invitation', content(i)).html.length;
  const compiledUs = ((performance.now() - c0) * 1000) / options.compiled;
  const m0 = performance.now();
  for (let i = 0; i < options.mjml; i++) sink += (await perEmail(i)).length;
  const mjmlUs = ((performance.now() - m0) * 1000) / options.mjml;
  if (sink === 0) throw new Error('nothing rendered');
  return { compiledUs, compiledCount: options.compiled, mjmlUs, mjmlCount: options.mjml, ratio: mjmlUs / compiledUs, compileOnceMs };
}
