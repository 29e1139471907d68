import { z } from 'zod';

/** One canonical form per mailbox for uniqueness: case-folded. Dots and +tags are kept: they can be real. */
export const canonicalEmail = (email: string): string => email.trim().toLowerCase();

/** A single address; control characters (CR/LF header injection) are refused before the format check. */
export const emailAddress = z
  .string()
  .max(254)
  .refine((v) => ![...v].some(isControlCharacter), { message: 'must not contain control characters' })
  .pipe(z.email({ message: 'must be an email address' }));

function isControlCharacter(c: string): boolean {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}
