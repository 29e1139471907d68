import Router from '@koa/router';
import type { Outbox } from '../http/outbox';
import { escapeHtml as e, page } from '../http/html';

/** `usher dev` only: what the local SMTP catch-all received, newest first, as a page or as JSON. */
export function outboxRoutes(outbox: Outbox): Router {
  const router = new Router();
  router.get('/dev/outbox', (ctx) => {
    const messages = outbox.messages().reverse();
    ctx.set('Cache-Control', 'no-store');
    if (ctx.accepts('html', 'json') === 'json') {
      ctx.body = messages.map(({ id, to, subject, html, text, acceptLink, receivedAt, messageId }) => ({ id, to, subject, html, text, acceptLink, receivedAt, messageId }));
      return;
    }
    ctx.type = 'html';
    const rows = messages
      .map(
        (m) => `<tr><td>${e(m.receivedAt)}</td><td>${e(m.to.join(', '))}</td><td><a href="/dev/outbox/${m.id}">${e(m.subject)}</a></td>
<td>${m.acceptLink ? `<a href="${e(m.acceptLink)}">open link</a>` : ''}</td></tr>`,
      )
      .join('');
    ctx.body = page('Usher outbox', `<h1>Outbox</h1><p class="muted">${messages.length} message(s) caught by the local SMTP server.</p>
<table><tr><th>Received</th><th>To</th><th>Subject</th><th>Accept link</th></tr>${rows}</table>`);
  });
  router.get('/dev/outbox/:id', (ctx) => {
    const message = outbox.messages().find((m) => String(m.id) === ctx.params.id);
    if (!message) return;
    ctx.type = 'html';
    ctx.set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    ctx.body = message.html || `<pre>${e(message.text)}</pre>`;
  });
  return router;
}
