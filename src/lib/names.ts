/** A person as the rows know them; `display_name` only users have. */
export interface NamedPerson {
  first_name: string | null;
  last_name: string | null;
  display_name?: string | null;
  email: string;
}

/** How Usher names a person to others: their chosen display name, else first and last name, else their address. */
export function displayName(person: NamedPerson): string {
  const full = [person.first_name, person.last_name].filter(Boolean).join(' ');
  return person.display_name ?? (full || person.email);
}

/** The inviter as an invitation presents them: a name given with the invitation (SAP's inviterName) wins. */
export function inviterDisplayName(invitation: { inviter_name: string | null }, inviter: NamedPerson | undefined): string {
  return invitation.inviter_name ?? (inviter ? displayName(inviter) : 'Someone');
}
