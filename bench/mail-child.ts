/**
 * The loopback SMTP server (src/main/dev/mail-catcher.ts) in a process of its own, so that parsing thousands of
 * emails does not share the load generator's event loop. Tells the parent, over IPC, of every accepted message.
 */
import { startMailCatcher } from '../src/main/dev/mail-catcher';

export interface MailNote {
  type: 'mail';
  to: string[];
  subject: string;
  link: string | null;
  at: number;
}

async function main(): Promise<void> {
  const mail = await startMailCatcher({
    behaviour: {
      data: (message) => {
        process.send?.({ type: 'mail', to: message.to, subject: message.subject, link: message.acceptLink, at: Date.now() } satisfies MailNote);
        return undefined;
      },
    },
  });
  process.send?.({ type: 'ready', url: mail.url });
  const stop = () => void mail.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`mail catcher failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
