import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sentTo } from '../support/mail';
import { body, startStack, type Stack } from '../support/stack';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let stack: Stack;
let browser: Browser;
beforeAll(async () => {
  if (!existsSync(executablePath)) throw new Error(`no Chromium at ${executablePath}: run script/bootstrap, or set CHROMIUM_PATH`);
  stack = await startStack();
  // Where the accept page may send people: this stack's own host, so the redirect lands somewhere real.
  await stack.db.updateTable('tenants').set({ allowed_redirect_hosts: [new URL(stack.baseUrl).host] }).where('id', '=', stack.tenant.id).execute();
  browser = await chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function invite(email: string) {
  const response = await stack.api('/v1/invitations', {
    method: 'POST',
    json: { email, role: 'admin', message: 'Come <b>build</b> with us', redirectUrl: `${stack.baseUrl}/healthz` },
  });
  expect(response.status).toBe(201);
  const invitation = await body(response);
  const email_ = await stack.mail.waitFor(sentTo(email));
  return { invitation, link: email_.acceptLink! };
}

describe('the accept page in a browser', () => {
  it('shows who invited whom, and the Accept button grants the role and lands on the redirect URL', async () => {
    const { invitation, link } = await invite('browser@example.com');
    const page = await browser.newPage();
    await page.goto(link);
    await expect.poll(() => page.textContent('main')).toContain('invited browser@example.com to join');
    expect(await page.textContent('blockquote')).toBe('Come <b>build</b> with us');
    expect(await page.locator('blockquote b').count()).toBe(0);

    await Promise.all([page.waitForURL(`${stack.baseUrl}/healthz`), page.click('button.accept')]);
    expect(await page.textContent('body')).toContain('"status":"ok"');
    const read = await body(await stack.api(`/v1/invitations/${invitation.id}`));
    expect(read.status).toBe('accepted');

    // Back to the link: it is spent.
    const again = await page.goto(link);
    expect(again?.status()).toBe(410);
    expect(await page.textContent('h1')).toContain('already been used');
    await page.close();
  });

  it('the Decline button declines and says so', async () => {
    const { invitation, link } = await invite('browser-no@example.com');
    const page = await browser.newPage();
    await page.goto(link);
    await Promise.all([page.waitForLoadState('load'), page.click('button.decline')]);
    await expect.poll(() => page.textContent('h1')).toBe('Invitation declined');
    expect((await body(await stack.api(`/v1/invitations/${invitation.id}`))).status).toBe('declined');
    await page.close();
  });
});
