/** What a local mail catch-all shows at /dev/outbox (`usher dev` only); the API knows nothing else of it. */
export interface OutboxMessage {
  id: number;
  messageId: string | null;
  to: string[];
  subject: string;
  html: string;
  text: string;
  /** The first Usher accept link in the message, if any. */
  acceptLink: string | null;
  receivedAt: string;
}

export interface Outbox {
  messages(): OutboxMessage[];
}
