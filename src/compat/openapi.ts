import { z } from 'zod';
import { HTTP_URL_PATTERN, jsonSchema, type JsonSchema } from '../http/openapi';
import { type ProblemCode, problems } from '../lib/errors';
import { AKANA_MAX_ADDRESSES, AKANA_MEDIA_TYPES } from './akana/request';
import { AKANA_PATH } from './akana/routes';
import { MENDIX_PATHS } from './mendix/routes';
import { MENDIX_SOAP_PATH, SEND_INVITE_PARAMETERS } from './mendix/wsdl';
import { quickbaseErrors } from './quickbase/errors';
import { ROYALTI_PATH } from './royalti/routes';
import { SAP_PATHS } from './sap/routes';

/**
 * The five seed APIs in /openapi.json, each under its own tag, at its original address, with the media types it really
 * takes and answers and its refusals in the vendor's own shape (never problem+json). What each call means is in
 * docs/compat/; this file only describes the wire.
 */

const MENDIX = ['Seed: Mendix'];
const QUICKBASE = ['Seed: Quickbase'];
const SAP = ['Seed: SAP'];
const AKANA = ['Seed: Akana'];
const ROYALTI = ['Seed: Royalti'];

export const compatTags = [
  { name: MENDIX[0], description: 'Mendix AppCloud Invite API v1, SendInvite: JSON or form at /api/1/invite, SOAP at /ws/InviteAPI/1' },
  { name: QUICKBASE[0], description: 'Quickbase XML API: API_SendInvitation and API_Authenticate at /db/{dbid}; every answer is <qdbapi> XML with HTTP 200' },
  { name: SAP[0], description: 'SAP Cloud Identity Services invitation API: POST /cps/invite/ with HTTP Basic' },
  { name: AKANA[0], description: 'Akana API Platform: POST /api/login, then POST /api/users/invitations with the session cookie' },
  { name: ROYALTI[0], description: 'Royalti: POST /auth/invite with a workspace JWT' },
];

export const compatSecuritySchemes = {
  sapClient: { type: 'http', scheme: 'basic', description: 'SAP: the client id and secret of a sap-client credential' },
  royaltiJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Royalti: a JWT signed with the workspace\'s key; `sub` (or `email`) names the inviter' },
  quickbaseUserToken: { type: 'apiKey', in: 'query', name: 'usertoken', description: 'Quickbase: a user token (also accepted in the body, or as `Authorization: QB-USER-TOKEN …`)' },
  quickbaseTicket: { type: 'apiKey', in: 'query', name: 'ticket', description: 'Quickbase: a ticket from API_Authenticate (also accepted in the body)' },
  quickbaseAppToken: { type: 'apiKey', in: 'query', name: 'apptoken', description: 'Quickbase: the application token, where the app requires one (with a ticket or username and password)' },
};

// ---------------------------------------------------------------------------------------------------------------
// Shapes

const vendorCode = z.enum(Object.keys(problems) as [ProblemCode, ...ProblemCode[]]);

/** A JSON refusal: its description, and its body's schema pinned to this status. */
const refusal = (status: number, description: string, schema: JsonSchema, mediaTypes: readonly string[] = ['application/json'], headers?: Record<string, unknown>) => [
  String(status),
  {
    description,
    ...(headers ? { headers } : {}),
    content: Object.fromEntries(mediaTypes.map((type) => [type, { schema: { allOf: [schema, pin(status, schema)] } }])),
  },
];

/** Where the body carries the status (SAP's `status`, Akana's `code`), that member is the status. */
function pin(status: number, schema: JsonSchema): JsonSchema {
  const properties = (schema.properties ?? {}) as Record<string, unknown>;
  if ('status' in properties) return { properties: { status: { const: status } } };
  if ('code' in properties && (properties.code as JsonSchema).type === 'integer') return { properties: { code: { const: status } } };
  return {};
}

const statusesOf = (codes: ProblemCode[]) => [...new Set(codes.map((c) => problems[c].status))].sort();
const titlesFor = (status: number, codes: ProblemCode[]) =>
  codes
    .filter((c) => problems[c].status === status)
    .map((c) => `${c}: ${problems[c].title}`)
    .join('; ');

/** An address as the adapters check it (zod's email pattern, as emailAddress uses). */
const EMAIL = { type: 'string', maxLength: 254, pattern: z.regexes.email.source };
const EMAIL_INNER = z.regexes.email.source.replace(/^\^|\$$/g, '');
/** A parameter that is absent when null or "" (SAP's "not given"). */
const orAbsent = (schema: JsonSchema) => ({ anyOf: [{ type: 'null' }, { const: '' }, schema] });
const givenText = { type: 'string', minLength: 1 };

const retryAfter = { 'Retry-After': { required: false, schema: { type: 'integer', minimum: 0 } } };

// Mendix: {code, message, field?, requestId}, status from the core's refusal.
const mendixRefusal = jsonSchema(
  z.object({ code: vendorCode, message: z.string(), field: z.string().optional().describe('The SendInvite parameter at fault'), requestId: z.string() }),
  'output',
);
const MENDIX_CODES: ProblemCode[] = [
  'invalid-request',
  'malformed-json',
  'unauthorized',
  'inviter-not-allowed',
  'role-too-high',
  'invitations-disabled',
  'already-member',
  'payload-too-large',
  'unsupported-media-type',
  'temporal-unavailable',
  'busy',
];
const mendixRefusals = (codes: ProblemCode[]) => Object.fromEntries(statusesOf(codes).map((s) => refusal(s, titlesFor(s, codes), mendixRefusal)));

const mendixParamSchemas: Record<(typeof SEND_INVITE_PARAMETERS)[number], JsonSchema> = {
  EnvironmentUUID: { type: 'string', minLength: 1, pattern: '\\S' },
  EnvironmentPassword: { type: 'string', minLength: 1 },
  InviteeEmailAddress: EMAIL,
  InviterEmailAddress: EMAIL,
  RoleUUID: { type: 'string', pattern: '^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$' },
};
const mendixParamsSchema = {
  type: 'object',
  required: [...SEND_INVITE_PARAMETERS],
  properties: mendixParamSchemas,
  description: 'EnvironmentUUID and EnvironmentPassword (a mendix-environment credential) name and authenticate the app; RoleUUID is a role id. Other members are ignored.',
};

const soapEnvelope = { type: 'string', description: 'A SOAP Envelope whose Body holds one SendInvite element (see the WSDL)' };
const soapFault = (version: string) => ({ type: 'string', description: `A SOAP ${version} Fault; its detail is an InviteFault (code, message, field, requestId)` });

// SAP: {status, code, message, field?, invitationId?, requestId}.
const sapRefusal = jsonSchema(
  z.object({
    status: z.number().int(),
    code: vendorCode,
    message: z.string(),
    field: z.string().optional(),
    invitationId: z.uuid().optional(),
    requestId: z.string(),
  }),
  'output',
);
const SAP_CODES: ProblemCode[] = [
  'invalid-request',
  'malformed-json',
  'redirect-not-allowed',
  'unauthorized',
  'inviter-not-allowed',
  'role-too-high',
  'invitations-disabled',
  'not-found',
  'already-member',
  'payload-too-large',
  'unsupported-media-type',
  'temporal-unavailable',
  'busy',
];
const sapText = (max: number) => orAbsent({ type: 'string', maxLength: max });
const sapUrl = orAbsent({ type: 'string', maxLength: 2048, pattern: HTTP_URL_PATTERN });
/** Null and "" mean "not given"; other members are ignored. Exactly one of inviteeEmail and inviteeUserId. */
const sapBody = {
  type: 'object',
  required: ['inviterName'],
  properties: {
    inviteeEmail: { ...orAbsent(EMAIL), description: 'The invitee\'s address; or inviteeUserId' },
    inviteeUserId: { ...sapText(254), description: 'A user Usher knows, by external id or id' },
    inviterName: { type: 'string', minLength: 1, maxLength: 200, description: 'The name the email shows as the inviter' },
    targetUrl: { ...sapUrl, description: 'Where the invitee lands after accepting; default the application\'s Home URL' },
    sourceUrl: { ...sapUrl, description: 'The base of the accept link; default the application\'s Home URL' },
    inviteeFirstName: sapText(200),
    inviteeLastName: sapText(200),
    headerText: sapText(2000),
    footerText: sapText(2000),
    language: { ...orAbsent({ type: 'string' }), description: 'xx, xx-XX or xx_XX; anything else means English' },
  },
  oneOf: [
    { required: ['inviteeEmail'], properties: { inviteeEmail: givenText }, not: { required: ['inviteeUserId'], properties: { inviteeUserId: givenText } } },
    { required: ['inviteeUserId'], properties: { inviteeUserId: givenText }, not: { required: ['inviteeEmail'], properties: { inviteeEmail: givenText } } },
  ],
};

// Akana: {code (the status), message, InvalidEmailAddresses?}, in the negotiated media type.
const akanaRefusal = jsonSchema(
  z.object({ code: z.number().int(), message: z.string(), InvalidEmailAddresses: z.array(z.string()).optional() }),
  'output',
);
const akanaContent = (schema: JsonSchema) => Object.fromEntries(AKANA_MEDIA_TYPES.map((type) => [type, { schema }]));
const akanaRefusals = (statuses: Record<number, string>) =>
  Object.fromEntries(
    Object.entries(statuses).map(([status, description]) =>
      refusal(Number(status), description, akanaRefusal, AKANA_MEDIA_TYPES, Number(status) === 429 ? retryAfter : undefined),
    ),
  );

/** One address, spaces around it allowed (the adapter also reads several in one, separated by commas). */
const AKANA_ADDRESS = `^[ \\t]*${EMAIL_INNER}[ \\t]*$`;

// Royalti: {message}.
const royaltiRefusal = jsonSchema(z.object({ message: z.string() }), 'output');
const royaltiBody = z.object({
  email: z.string().max(254).meta({ pattern: z.regexes.email.source }),
  sendEmail: z.union([z.boolean(), z.enum(['true', 'false'])]).nullable().optional().describe('false: no email; the answer carries the accept URL'),
  message: z.string().max(5000).nullable().optional(),
  firstName: z.string().max(200).nullable().optional(),
  lastName: z.string().max(200).nullable().optional(),
  redirect_url: z.string().max(2048).nullable().optional(),
  role: z.string().max(100).nullable().optional().describe('A role\'s slug or name; default the workspace\'s default role'),
});

// Quickbase: every answer is <qdbapi> XML with HTTP 200.
const qdbapiParameters = ['ticket', 'usertoken', 'apptoken', 'userid', 'usertext', 'udata', 'username', 'password', 'hours'] as const;
const qdbapiRequest = {
  type: 'object',
  xml: { name: 'qdbapi' },
  description: 'The call\'s parameters as children of <qdbapi>; query parameters count too',
  properties: Object.fromEntries(qdbapiParameters.map((name) => [name, { type: 'string' }])),
};
const qdbapiResponse = {
  type: 'object',
  xml: { name: 'qdbapi' },
  required: ['action', 'errcode', 'errtext'],
  properties: {
    action: { type: 'string' },
    errcode: { type: 'integer', enum: Object.keys(quickbaseErrors).map(Number) },
    errtext: { type: 'string', enum: Object.values(quickbaseErrors) },
    errdetail: { type: 'string' },
    udata: { type: 'string' },
    ticket: { type: 'string', description: 'API_Authenticate' },
    userid: { type: 'string', description: 'API_Authenticate' },
  },
};
const quickbaseQuery = [
  { name: 'a', in: 'query', required: false, description: 'The action: API_SendInvitation or API_Authenticate (or the QUICKBASE-ACTION header)', schema: { type: 'string' } },
  { name: 'QUICKBASE-ACTION', in: 'header', required: false, schema: { type: 'string' } },
  ...qdbapiParameters
    .filter((name) => !['ticket', 'usertoken', 'apptoken'].includes(name))
    .map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
];
const quickbaseAnswer = {
  '200': {
    description: 'Success (errcode 0) or a refusal (errcode, errtext, errdetail), as Quickbase answers both; a limit\'s refusal (77) carries Retry-After',
    headers: retryAfter,
    content: { 'text/xml': { schema: qdbapiResponse } },
  },
};
const quickbaseSecurity = [{}, { quickbaseUserToken: [] }, { quickbaseTicket: [] }, { quickbaseTicket: [], quickbaseAppToken: [] }];

// ---------------------------------------------------------------------------------------------------------------
// Paths

export const compatPaths = {
  [MENDIX_PATHS[0]]: {
    post: {
      operationId: 'mendixSendInvite',
      tags: MENDIX,
      summary: 'SendInvite: invite someone to the Mendix app; inviting someone whose invitation is open sends it again',
      requestBody: {
        required: true,
        content: { 'application/json': { schema: mendixParamsSchema }, 'application/x-www-form-urlencoded': { schema: mendixParamsSchema } },
      },
      responses: { '204': { description: 'Sent (SendInvite returns nothing)' }, ...mendixRefusals(MENDIX_CODES) },
    },
  },
  [MENDIX_SOAP_PATH]: {
    get: {
      operationId: 'mendixInviteApiWsdl',
      tags: MENDIX,
      summary: 'The WSDL of the InviteAPI web service (ask for ?wsdl)',
      parameters: [{ name: 'wsdl', in: 'query', required: true, allowEmptyValue: true, schema: { type: 'string' } }],
      responses: {
        '200': { description: 'The WSDL', content: { 'text/xml': { schema: { type: 'string' } } } },
        '500': { description: 'Without ?wsdl: a SOAP 1.1 Fault (WS-I: faults travel with HTTP 500)', content: { 'text/xml': { schema: soapFault('1.1') } } },
      },
    },
    post: {
      operationId: 'mendixSoapSendInvite',
      tags: MENDIX,
      summary: 'SendInvite as SOAP 1.1 (text/xml) or SOAP 1.2 (application/soap+xml)',
      requestBody: { required: true, content: { 'text/xml': { schema: soapEnvelope }, 'application/soap+xml': { schema: soapEnvelope } } },
      responses: {
        '200': {
          description: 'An empty SendInviteResponse',
          content: { 'text/xml': { schema: { type: 'string' } }, 'application/soap+xml': { schema: { type: 'string' } } },
        },
        '400': { description: 'A SOAP 1.2 Sender Fault', content: { 'application/soap+xml': { schema: soapFault('1.2') } } },
        '500': {
          description: 'A SOAP 1.1 Fault (any; WS-I: faults travel with HTTP 500), or a SOAP 1.2 Receiver, VersionMismatch or MustUnderstand Fault',
          content: { 'text/xml': { schema: soapFault('1.1') }, 'application/soap+xml': { schema: soapFault('1.2') } },
        },
      },
    },
  },
  '/db/{dbid}': {
    parameters: [{ name: 'dbid', in: 'path', required: true, description: 'The application (a tenant\'s quickbaseDbid), or main for API_Authenticate', schema: { type: 'string' } }],
    get: {
      operationId: 'quickbaseCallByQuery',
      tags: QUICKBASE,
      summary: 'API_SendInvitation (the user `userid` names) or API_Authenticate (username and password → ticket), parameters in the query',
      security: quickbaseSecurity,
      parameters: quickbaseQuery,
      responses: quickbaseAnswer,
    },
    post: {
      operationId: 'quickbaseCall',
      tags: QUICKBASE,
      summary: 'API_SendInvitation or API_Authenticate, parameters in a <qdbapi> document (whatever its Content-Type says) or a form',
      security: quickbaseSecurity,
      parameters: quickbaseQuery,
      requestBody: {
        required: false,
        content: {
          'application/xml': { schema: qdbapiRequest },
          'text/xml': { schema: qdbapiRequest },
          'application/x-www-form-urlencoded': { schema: { type: 'object', properties: qdbapiRequest.properties } },
        },
      },
      responses: quickbaseAnswer,
    },
  },
  [SAP_PATHS[0]]: {
    post: {
      operationId: 'sapInvite',
      tags: SAP,
      summary: 'Invite someone by email or by user id; inviting someone whose invitation is open answers with it, sent again',
      security: [{ sapClient: [] }],
      requestBody: { required: true, content: { 'application/json': { schema: sapBody } } },
      responses: {
        '201': {
          description: 'Invited',
          headers: { Location: { required: true, schema: { type: 'string' } } },
          content: { 'application/json': { schema: jsonSchema(z.object({ id: z.uuid(), status: z.literal('pending') }), 'output') } },
        },
        ...Object.fromEntries(
          statusesOf(SAP_CODES).map((s) =>
            refusal(s, titlesFor(s, SAP_CODES), sapRefusal, ['application/json'], s === 401 ? { 'WWW-Authenticate': { required: true, schema: { type: 'string' } } } : undefined),
          ),
        ),
      },
    },
  },
  '/api/login': {
    post: {
      operationId: 'akanaLogin',
      tags: AKANA,
      summary: 'Log in: the session cookie AtmoAuthToken_{tenant} and the CSRF cookie Csrf-Token_{tenant}',
      requestBody: {
        required: true,
        content: akanaContent(jsonSchema(z.object({ email: z.string().min(1), password: z.string().min(1) }), 'input')),
      },
      responses: {
        '200': {
          description: 'Logged in; the cookies are set',
          headers: { 'Set-Cookie': { required: true, schema: { type: 'string' } } },
          content: akanaContent(
            jsonSchema(z.object({ userName: z.string(), userFDN: z.string(), fedMemberID: z.string(), expirationTime: z.number().int() }), 'output'),
          ),
        },
        ...akanaRefusals({
          400: 'email and password are required; or the body is not JSON',
          401: 'The email or password is not valid',
          404: 'An API version Akana does not have (Accept or Content-Type)',
          406: 'Accept names none of Akana\'s media types',
          415: 'Content-Type is not one of Akana\'s media types',
          429: 'Too many login attempts (Retry-After)',
        }),
      },
    },
  },
  [AKANA_PATH]: {
    post: {
      operationId: 'akanaInviteUsers',
      tags: AKANA,
      summary: `Invite up to ${AKANA_MAX_ADDRESSES} addresses; the answer lists those that now have an open invitation`,
      description:
        'Send the session cookie from /api/login, `AtmoAuthToken_{tenant}` (the tenant is the cookie name\'s suffix, so OpenAPI cannot name it); where the tenant requires it, `X-Csrf-Token_{tenant}` with the CSRF cookie\'s value.',
      requestBody: {
        required: true,
        content: akanaContent(
          jsonSchema(
            z.object({
              EmailAddresses: z
                .union([z.array(z.string().meta({ pattern: AKANA_ADDRESS })).min(1).max(AKANA_MAX_ADDRESSES), z.string().meta({ pattern: AKANA_ADDRESS })])
                .describe('Addresses; an element may also list several, separated by commas'),
              Message: z.string().max(5000).nullable().optional(),
            }),
            'input',
          ),
        ),
      },
      responses: {
        '200': { description: 'The addresses invited (members are left out)', content: akanaContent({ type: 'array', items: { type: 'string' } }) },
        ...akanaRefusals({
          400: 'The request is invalid (InvalidEmailAddresses lists bad addresses; nobody was invited)',
          401: 'No valid session, a missing or wrong CSRF header, or the inviter may not invite',
          404: 'An API version Akana does not have',
          406: 'Accept names none of Akana\'s media types',
          415: 'Content-Type is not one of Akana\'s media types',
          500: 'An error occurred processing the call (the workflow service is unavailable)',
        }),
      },
    },
  },
  [ROYALTI_PATH]: {
    post: {
      operationId: 'royaltiInvite',
      tags: ROYALTI,
      summary: 'Invite someone to the workspace; inviting someone whose invitation is open answers as the first call did',
      security: [{ royaltiJwt: [] }],
      parameters: [
        { name: 'workspaceId', in: 'query', required: false, description: 'The workspace; else the token\'s workspaceId claim', schema: { type: 'string' } },
        { name: 'userId', in: 'query', required: false, description: 'The invitee\'s existing user record: must be the one for `email`', schema: { type: 'string' } },
      ],
      requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(royaltiBody, 'input') } } },
      responses: {
        '201': {
          description: 'Invited',
          content: { 'application/json': { schema: jsonSchema(z.object({ message: z.string(), acceptUrl: z.string().optional() }), 'output') } },
        },
        ...Object.fromEntries([
          refusal(400, 'The request is invalid', royaltiRefusal),
          refusal(401, 'Unauthorized', royaltiRefusal, ['application/json'], { 'WWW-Authenticate': { required: true, schema: { type: 'string' } } }),
          refusal(404, 'No such workspace or user', royaltiRefusal),
          refusal(500, 'Internal Server Error (the workflow service is unavailable)', royaltiRefusal),
        ]),
      },
    },
  },
};
