import { readFile } from 'node:fs/promises';
import mjml2html from 'mjml';
import { type EmailFacts, type EmailKind, languages, pickLanguage } from './strings';
import { escapeHtml } from '../lib/html-escape';

type Layout = 'invitation' | 'notice';
export type CompiledTemplates = Record<Layout, string>;

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

export interface EmailContent extends EmailFacts {
  language: string | null;
  /** The inviter's own words: always text, never markup. */
  message: string | null;
  acceptUrl: string | null;
  headerText: string | null;
  footerText: string | null;
}

/** Compiles the MJML layouts once, at start-up; per-message work is only placeholder filling. */
export async function compileTemplates(): Promise<CompiledTemplates> {
  const compile = async (layout: Layout) => {
    const source = await readFile(new URL(`./templates/${layout}.mjml`, import.meta.url), 'utf8');
    const result = await mjml2html(source, { validationLevel: 'strict', minify: false });
    return result.html;
  };
  return { invitation: await compile('invitation'), notice: await compile('notice') };
}

export function renderEmail(templates: CompiledTemplates, kind: EmailKind, content: EmailContent): RenderedEmail {
  const pack = languages[pickLanguage(content.language)];
  const copy = pack.kinds[kind];
  const forInvitee = kind === 'invitation' || kind === 'reminder';
  const values: Record<string, string> = {
    subject: copy.subject(content),
    heading: copy.heading(content),
    intro: copy.intro(content),
    body: copy.intro(content),
    greeting: pack.greeting(content),
    buttonLabel: pack.button,
    expiryNote: pack.expiry(content),
    linkNote: pack.linkNote,
    acceptUrl: content.acceptUrl ?? '',
    headerText: content.headerText ?? '',
    footerText: content.footerText ?? '',
  };
  const messageHtml = content.message ? escapeHtml(content.message).replace(/\r?\n/g, '<br>') : '';
  const html = fill(templates[forInvitee ? 'invitation' : 'notice'], values, { messageHtml });

  const text = forInvitee
    ? [
        content.headerText,
        values.greeting,
        values.intro,
        content.message ? `"${content.message}"` : null,
        `${pack.button}: ${values.acceptUrl}`,
        values.expiryNote,
        content.footerText,
      ]
    : [values.heading, values.intro];
  return { subject: values.subject!, html, text: `${text.filter((l) => l).join('\n\n')}\n` };
}

/**
 * One pass over the compiled HTML. `{{name}}` is escaped text; `{{{name}}}` is HTML this module built itself.
 * Values are never scanned again, so a message containing `{{acceptUrl}}` stays literal text.
 */
function fill(html: string, text: Record<string, string>, trusted: Record<string, string>): string {
  return html.replace(/\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}/g, (_m, raw: string | undefined, name: string | undefined) =>
    raw !== undefined ? (trusted[raw] ?? '') : escapeHtml(text[name!] ?? ''),
  );
}


export function formatDate(date: Date, language: string | null): string {
  return date.toLocaleDateString(languages[pickLanguage(language)].locale, { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });
}
