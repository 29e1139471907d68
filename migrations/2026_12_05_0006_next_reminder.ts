import { type Kysely, sql } from 'kysely';

// Frozen in time: this file never imports application code.
//
// An invitation's next reminder, kept on its row so that reading one invitation needs no workflow query (a query
// wakes the workflow on a worker, replaying its history when it is no longer cached, and finds no answer while no
// worker runs). The workflow decides the schedule; the row records what it decided, written by the steps that change
// it (create, a reminder sent, an edit of the expiry, a resend's email). `next_reminder_known` false means the row
// does not know (an invitation older than this migration, or a resend whose email is not out yet): a reader asks
// the workflow, as before. Known and null: no reminder is left (or the invitation sends no email).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table invitations
    add column next_reminder_at timestamptz,
    add column next_reminder_known boolean not null default false`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table invitations drop column next_reminder_at, drop column next_reminder_known`.execute(db);
}
