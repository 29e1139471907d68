import type { FaultStack } from './stack';
import { waitFor } from './stack';

export interface Link {
  invitationId: string;
  token: string;
}

/** The tokens of the first `count` invitation emails to arrive (one per invitation). */
export async function firstLinks(stack: FaultStack, count: number, timeoutMs = 300_000): Promise<Link[]> {
  const links = new Map<string, Link>();
  await waitFor(`${count} invitation emails`, timeoutMs, () => {
    for (const m of stack.smtp.messages()) {
      if (m.invitationId && m.sendKey?.startsWith('invitation-') && m.acceptLink && !links.has(m.invitationId)) {
        links.set(m.invitationId, { invitationId: m.invitationId, token: m.acceptLink.split('/').at(-1)!.split('token=').at(-1)! });
      }
    }
    return links.size >= count;
  });
  return [...links.values()].slice(0, count);
}
