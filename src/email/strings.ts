export type EmailKind = 'invitation' | 'reminder' | 'expired' | 'accepted';
export type Language = 'en' | 'de';

export interface EmailFacts {
  inviterName: string;
  inviteeName: string;
  inviteeEmail: string;
  tenantName: string;
  roleName: string;
  expiresOn: string;
}

interface Copy {
  subject: (f: EmailFacts) => string;
  heading: (f: EmailFacts) => string;
  intro: (f: EmailFacts) => string;
}

interface LanguagePack {
  greeting: (f: EmailFacts) => string;
  button: string;
  expiry: (f: EmailFacts) => string;
  linkNote: string;
  locale: string;
  kinds: Record<EmailKind, Copy>;
}

export const languages: Record<Language, LanguagePack> = {
  en: {
    locale: 'en-GB',
    greeting: (f) => `Hello ${f.inviteeName},`,
    button: 'Accept invitation',
    expiry: (f) => `This invitation expires on ${f.expiresOn}.`,
    linkNote: 'If the button does not work, open this link:',
    kinds: {
      invitation: {
        subject: (f) => `${f.inviterName} invited you to ${f.tenantName}`,
        heading: (f) => `Join ${f.tenantName}`,
        intro: (f) => `${f.inviterName} invited you to join ${f.tenantName} as ${f.roleName}.`,
      },
      reminder: {
        subject: (f) => `Reminder: ${f.inviterName} invited you to ${f.tenantName}`,
        heading: (f) => `Your invitation to ${f.tenantName} is waiting`,
        intro: (f) => `${f.inviterName} invited you to join ${f.tenantName} as ${f.roleName}, and the invitation is still open.`,
      },
      expired: {
        subject: (f) => `Your invitation to ${f.inviteeEmail} expired`,
        heading: () => 'Invitation expired',
        intro: (f) => `${f.inviteeEmail} did not accept your invitation to ${f.tenantName} (${f.roleName}) before it expired on ${f.expiresOn}.`,
      },
      accepted: {
        subject: (f) => `${f.inviteeEmail} accepted your invitation`,
        heading: () => 'Invitation accepted',
        intro: (f) => `${f.inviteeEmail} accepted your invitation and joined ${f.tenantName} as ${f.roleName}.`,
      },
    },
  },
  de: {
    locale: 'de-DE',
    greeting: (f) => `Hallo ${f.inviteeName},`,
    button: 'Einladung annehmen',
    expiry: (f) => `Diese Einladung läuft am ${f.expiresOn} ab.`,
    linkNote: 'Falls die Schaltfläche nicht funktioniert, öffnen Sie diesen Link:',
    kinds: {
      invitation: {
        subject: (f) => `${f.inviterName} hat Sie zu ${f.tenantName} eingeladen`,
        heading: (f) => `Willkommen bei ${f.tenantName}`,
        intro: (f) => `${f.inviterName} hat Sie eingeladen, ${f.tenantName} als ${f.roleName} beizutreten.`,
      },
      reminder: {
        subject: (f) => `Erinnerung: ${f.inviterName} hat Sie zu ${f.tenantName} eingeladen`,
        heading: (f) => `Ihre Einladung zu ${f.tenantName} wartet`,
        intro: (f) => `${f.inviterName} hat Sie eingeladen, ${f.tenantName} als ${f.roleName} beizutreten; die Einladung ist noch offen.`,
      },
      expired: {
        subject: (f) => `Ihre Einladung an ${f.inviteeEmail} ist abgelaufen`,
        heading: () => 'Einladung abgelaufen',
        intro: (f) => `${f.inviteeEmail} hat Ihre Einladung zu ${f.tenantName} (${f.roleName}) nicht vor dem ${f.expiresOn} angenommen.`,
      },
      accepted: {
        subject: (f) => `${f.inviteeEmail} hat Ihre Einladung angenommen`,
        heading: () => 'Einladung angenommen',
        intro: (f) => `${f.inviteeEmail} hat Ihre Einladung angenommen und ist ${f.tenantName} als ${f.roleName} beigetreten.`,
      },
    },
  },
};

/** SAP's rule: XX, xx, xx-XX or xx_XX picks a language by its first two letters; anything else is English. */
export function pickLanguage(code: string | null | undefined): Language {
  const match = code ? /^([A-Za-z]{2})(?:[-_][A-Za-z]{2})?$/.exec(code) : null;
  const base = match?.[1]?.toLowerCase();
  return base !== undefined && base in languages ? (base as Language) : 'en';
}
