import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { tokenKeyRing } from '../../src/lib/token-keys';
import { ConfigError, loadConfig, requireSettings } from '../../src/main/config';
import { coreSettings } from '../../src/main/wiring';
import { webhookTypeOf, webhookEventTypes } from '../../src/webhooks/events';
import { newWebhookSecret, sign, signatureHeaders, signingSecrets } from '../../src/webhooks/signing';

const ring = tokenKeyRing('a'.repeat(43));
const targets = (env: Record<string, string>, production: boolean) => {
  const config = loadConfig(env);
  return coreSettings(production ? requireSettings(config, ['databaseUrl']) : config, ring).webhooks!;
};

describe('webhook target settings', () => {
  it('allow http and private targets under usher dev, refuse them in production, unless set either way', () => {
    const db = { DATABASE_URL: 'postgres://u:p@db.internal/usher' };
    expect(targets(db, false)).toMatchObject({ allowHttp: true, allowPrivateTargets: true });
    expect(targets(db, true)).toMatchObject({ allowHttp: false, allowPrivateTargets: false });
    expect(targets({ ...db, WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true' }, true)).toMatchObject({ allowHttp: false, allowPrivateTargets: true });
    expect(targets({ ...db, WEBHOOKS_ALLOW_HTTP: 'false' }, false)).toMatchObject({ allowHttp: false, allowPrivateTargets: true });
    expect(() => loadConfig({ WEBHOOKS_ALLOW_HTTP: 'maybe' })).toThrow(ConfigError);
    expect(() => loadConfig({ WEBHOOKS_ALLOW_HTTP: 'maybe' })).toThrow(/WEBHOOKS_ALLOW_HTTP/);
  });
});

describe('signatures', () => {
  it('are the ones the standardwebhooks library computes and verifies', () => {
    const secret = newWebhookSecret();
    const body = JSON.stringify({ id: 'evt_1', type: 'invitation.created', data: { ü: '✓' } });
    const at = Math.floor(Date.now() / 1000);
    expect(sign(secret, 'evt_1', at, body)).toBe(new Webhook(secret).sign('evt_1', new Date(at * 1000), body));
    const old = newWebhookSecret();
    const headers = signatureHeaders([secret, old], 'evt_1', at, body);
    expect(new Webhook(secret).verify(body, headers)).toMatchObject({ id: 'evt_1' });
    expect(new Webhook(old).verify(body, headers)).toMatchObject({ id: 'evt_1' });
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
  });

  it('include a rotated-out secret only until its grace period ends', () => {
    const now = new Date('2026-11-29T12:00:00Z');
    const endpoint = { secret: 'whsec_new', previous_secret: 'whsec_old', previous_secret_expires_at: new Date('2026-11-30T12:00:00Z') };
    expect(signingSecrets(endpoint, now)).toEqual(['whsec_new', 'whsec_old']);
    expect(signingSecrets(endpoint, new Date('2026-11-30T12:00:00Z'))).toEqual(['whsec_new']);
    expect(signingSecrets({ ...endpoint, previous_secret: null, previous_secret_expires_at: null }, now)).toEqual(['whsec_new']);
  });
});

describe('event types', () => {
  it('come from the audit actions of the changes, and only those', () => {
    const mapped = ['invitation.created', 'email.invitation.sent', 'email.reminder.sent', 'invitation.edited', 'invitation.resent', 'invitation.accepted', 'invitation.declined', 'invitation.revoked', 'invitation.expired', 'invitation.bounced', 'invitation.failed', 'role.granted', 'batch.completed'].map(webhookTypeOf);
    expect(mapped).toEqual([...webhookEventTypes]);
    for (const action of ['email.notice.accepted.sent', 'api-key.created', 'webhook-endpoint.disabled', 'membership.created', 'email.invitation.failed']) expect(webhookTypeOf(action)).toBeUndefined();
  });
});
