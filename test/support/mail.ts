import type { CaughtMessage } from '../../src/main/dev/mail-catcher';

/** Mailbox names compare without case (SMTP lower-cases the domain on the way). */
export const sentTo = (address: string) => (m: CaughtMessage) => m.to.some((t) => t.toLowerCase() === address.toLowerCase());
