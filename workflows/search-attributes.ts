import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Registered on the dev server at start (see src/main/dev/temporal-dev-server.ts) and by `temporal operator` in production.
export const InvitationStatusKey = defineSearchAttributeKey('InvitationStatus', SearchAttributeType.KEYWORD);
export const TenantIdKey = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const InvitationIdKey = defineSearchAttributeKey('InvitationId', SearchAttributeType.KEYWORD);
export const ExpiresAtKey = defineSearchAttributeKey('ExpiresAt', SearchAttributeType.DATETIME);

export const searchAttributeKeys = [InvitationStatusKey, TenantIdKey, InvitationIdKey, ExpiresAtKey];
