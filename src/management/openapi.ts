import { apiKeyPaths } from './api-keys/openapi';
import { compatCredentialPaths } from './compat-credentials/openapi';
import { rolePaths } from './roles/openapi';
import { tenantPaths } from './tenants/openapi';
import { userPaths } from './users/openapi';

/**
 * The management surface for /openapi.json. Merge into the document: `securitySchemes` into
 * components.securitySchemes, `paths` into paths.
 */
export const managementSecuritySchemes = {
  adminToken: { type: 'http', scheme: 'bearer', description: 'The operator token (USHER_ADMIN_TOKEN). Without it configured, /v1/tenants answers 404.' },
};

export const managementPaths = { ...tenantPaths, ...rolePaths, ...userPaths, ...apiKeyPaths, ...compatCredentialPaths };
