/**
 * The bench's mail server: a real SMTP server on loopback (smtp-server, as in src/main/dev/mail-catcher.ts) in a process
 * of its own, which tells the parent, over IPC, of every accepted message. It reads only what the bench needs, the
 * envelope's recipients and the accept link, and keeps nothing: parsing every message whole (mailparser, as the dev
 * outbox does) cost about 1.2 ms of CPU an email on the cores Usher shares, which is the mail provider's work, not
 * Usher's (docs/benchmark.md).
 */
import { SMTPServer } from 'smtp-server';
import { acceptLinkPattern, loopbackSmtpOptions } from '../src/main/dev/mail-catcher';

export interface MailNote {
  type: 'mail';
  to: string[];
  link: string | null;
  at: number;
}

/** The accept link in a message as it came over the wire: its text part is quoted-printable (soft breaks, =3D). */
function acceptLinkIn(raw: string): string | null {
  const decoded = raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return acceptLinkPattern.exec(decoded)?.[0] ?? null;
}

async function main(): Promise<void> {
  const server = new SMTPServer({
    ...loopbackSmtpOptions,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', callback);
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((r) => r.address);
        process.send?.({ type: 'mail', to, link: acceptLinkIn(Buffer.concat(chunks).toString('latin1')), at: Date.now() } satisfies MailNote);
        callback();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.server.address() as { port: number }).port));
  });
  process.send?.({ type: 'ready', url: `smtp://127.0.0.1:${port}` });
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`mail server failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
