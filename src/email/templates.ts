import { readFile } from 'node:fs/promises';
import { type EmailFacts, type EmailKind, languages, pickLanguage } from './strings';
import { escapeHtml } from '../lib/html-escape';

type Layout = 'invitation' | 'notice';

/**
 * A layout compiled to HTML and cut at its placeholders once: `text[i]` comes before `slots[i]`, the last piece after
 * the last slot. Filling an email is then one join, with no scan of the HTML (docs/benchmark.md, R4).
 */
export interface CompiledLayout {
  text: string[];
  /** `{{name}}` is escaped text (`trusted: false`); `{{{name}}}` is HTML this module built itself. */
  slots: { name: string; trusted: boolean }[];
}
export type CompiledTemplates = Record<Layout, CompiledLayout>;

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
  // Loaded here, not with this module: MJML is about 100 MiB of memory that only the worker needs (formatDate, say,
  // is the API's too).
  const { default: mjml2html } = await import('mjml');
  const compile = async (layout: Layout) => {
    const source = await readFile(new URL(`./templates/${layout}.mjml`, import.meta.url), 'utf8');
    const result = await mjml2html(source, { validationLevel: 'strict', minify: false });
    return cut(result.html);
  };
  return { invitation: await compile('invitation'), notice: await compile('notice') };
}

export function renderEmail(templates: CompiledTemplates, kind: EmailKind, content: EmailContent): RenderedEmail {
  const pack = languages[pickLanguage(content.language)];
  const copy = pack.kinds[kind];
  const forInvitee = kind === 'invitation' || kind === 'reminder';
  const values: Record<string, string> = {
    // The preview line (mj-preview) names who invites to what.
    inviterName: content.inviterName,
    tenantName: content.tenantName,
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

/** Cuts compiled HTML at its placeholders, once per layout at start-up. */
function cut(html: string): CompiledLayout {
  const layout: CompiledLayout = { text: [], slots: [] };
  let last = 0;
  for (const m of html.matchAll(/\{\{\{(\w+)\}\}\}|\{\{(\w+)\}\}/g)) {
    layout.text.push(html.slice(last, m.index));
    layout.slots.push(m[1] !== undefined ? { name: m[1], trusted: true } : { name: m[2]!, trusted: false });
    last = m.index + m[0].length;
  }
  layout.text.push(html.slice(last));
  return layout;
}

/**
 * Fills a layout's slots. `{{name}}` is escaped text; `{{{name}}}` is HTML this module built itself. Values are never
 * scanned again, so a message containing `{{acceptUrl}}` stays literal text.
 */
function fill(layout: CompiledLayout, text: Record<string, string>, trusted: Record<string, string>): string {
  let html = layout.text[0]!;
  for (let i = 0; i < layout.slots.length; i++) {
    const slot = layout.slots[i]!;
    html += (slot.trusted ? (trusted[slot.name] ?? '') : escapeHtml(text[slot.name] ?? '')) + layout.text[i + 1]!;
  }
  return html;
}


// One formatter per language, made once: toLocaleDateString builds a new one on every call (about 50 µs here).
const dateFormats = new Map<string, Intl.DateTimeFormat>();

export function formatDate(date: Date, language: string | null): string {
  const locale = languages[pickLanguage(language)].locale;
  let format = dateFormats.get(locale);
  if (!format) {
    format = new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });
    dateFormats.set(locale, format);
  }
  return format.format(date);
}
