import { classifyRoyaltiKey } from '../../db/compat-credentials';
import type { RoyaltiKeyKind } from '../../db/database';
import type { TenantChanges } from '../../db/tenants';
import { invalidField } from '../problems';

/**
 * The kind stored with a new Royalti key, which decides the algorithms it verifies (HMAC secrets HS*, public keys
 * RS/PS/ES/EdDSA). Given, it must agree with the key's text; not given, it is inferred only where the text leaves no
 * doubt: a PEM public key or certificate is a public key, and anything that is no key at all is an HMAC secret. The
 * base64 body of a public key without its PEM header is refused either way: taken for a secret, anyone holding the
 * public key could mint tokens. `path` prefixes the field names in refusals (`settings.` on tenant creation).
 */
export function royaltiKeyColumns(
  settings: { royaltiJwtKey?: string | null; royaltiJwtKeyKind?: RoyaltiKeyKind | null },
  path = '',
): Pick<TenantChanges, 'royalti_jwt_key_kind'> {
  const { royaltiJwtKey: key, royaltiJwtKeyKind: kind } = settings;
  if (key === undefined) {
    if (kind !== undefined) throw invalidField(`${path}royaltiJwtKeyKind`, 'send it with royaltiJwtKey: a kind describes the key it comes with');
    return {};
  }
  if (key === null) {
    if (kind) throw invalidField(`${path}royaltiJwtKeyKind`, 'must be null (or left out) when royaltiJwtKey is null');
    return { royalti_jwt_key_kind: null };
  }
  const text = classifyRoyaltiKey(key);
  const field = `${path}royaltiJwtKey`;
  if (text === 'public-key-without-pem') {
    throw invalidField(field, 'looks like a public key without its PEM header; send it as PEM (-----BEGIN PUBLIC KEY-----) with royaltiJwtKeyKind public-key');
  }
  if (text === 'not-a-public-key') throw invalidField(field, 'is PEM text but not a public key or certificate (never send a private key)');
  const inferred: RoyaltiKeyKind = text === 'public-key' ? 'public-key' : 'hmac-secret';
  if (kind && kind !== inferred) {
    throw invalidField(
      `${path}royaltiJwtKeyKind`,
      kind === 'public-key' ? 'the key is not a PEM public key or certificate' : 'a public key is never an HMAC secret: anyone holding it could sign tokens',
    );
  }
  return { royalti_jwt_key_kind: inferred };
}
