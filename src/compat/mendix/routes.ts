import type { Admission } from '../../http/admission';
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { InvitationDeps } from '../../invitations/deps';
import { UsherError } from '../../lib/errors';
import { readRawBody } from '../../http/body';
import { seedRoutes } from '../adapter';
import { formFields, jsonOf, readRawBytes } from '../body';
import { decodeXmlBody, XmlParseError } from '../xml';
import { mendixRefusal, refuse } from './errors';
import { sendInvite } from './send-invite';
import { EnvelopeFault, readOperation, soapVersionOf, writeSoapFault, writeSoapResponse } from './soap';
import { inviteApiWsdl, MENDIX_SOAP_PATH } from './wsdl';

/**
 * Mendix AppCloud Invite API, call `SendInvite` (API version 1), two ways:
 *  - `POST /api/1/invite` with the five parameters under their Mendix names, as a JSON object or form-encoded. Success
 *    is `204 No Content` (SendInvite returns nothing); refusals are `{"code": "…", "message": "…", "requestId": "…"}`
 *    with the matching HTTP status.
 *  - as the web service Mendix apps consumed: SOAP 1.1 or 1.2 at `POST /ws/InviteAPI/1`, described by the WSDL at
 *    `GET /ws/InviteAPI/1?wsdl`. Success is an empty SendInviteResponse; refusals are SOAP faults whose detail carries
 *    the same code, message and request id.
 * Both authenticate and decide alike (send-invite.ts); see docs/compat/mendix.md.
 */
export const MENDIX_PATHS = ['/api/1/invite', '/api/1/invite/'] as const;

/**
 * A method the SOAP endpoint does not answer (neither POST nor GET). WS-I Basic Profile 1.1 (R1114) asks for 405, and a
 * 4xx carries no SOAP Fault (SOAP 1.1 faults travel with HTTP 500), so it is answered as the JSON call answers one:
 * 405 with `Allow` and Mendix's JSON refusal. GET without ?wsdl is a declared method, refused with a fault.
 */
class UndeclaredMethod extends UsherError {}

/** A SendInvite envelope is a few hundred bytes; this leaves room for WS-Security headers and long addresses. */
const MAX_SOAP_BYTES = 64 * 1024;

export function mendixRoutes(deps: InvitationDeps, admission: Admission): Router[] {
  const json = seedRoutes(admission, {
    endpoints: [
      {
        paths: MENDIX_PATHS,
        methods: { POST: (ctx) => sendJsonInvite(deps, ctx) },
        otherMethods: (ctx) => new UsherError('method-not-allowed', `${ctx.method} is not allowed here; send SendInvite as POST`),
      },
    ],
    refuse: (ctx, err) => refuse(deps, ctx, err),
  });
  const soap = seedRoutes(admission, {
    endpoints: [
      {
        paths: [MENDIX_SOAP_PATH],
        methods: { GET: (ctx) => wsdl(deps, ctx), POST: (ctx) => sendSoapInvite(deps, ctx) },
        otherMethods: (ctx) => new UndeclaredMethod('method-not-allowed', `${ctx.method} is not allowed here; POST a SOAP request, or GET ?wsdl`),
      },
    ],
    refuse: (ctx, err) => {
      if (err instanceof UndeclaredMethod) {
        refuse(deps, ctx, err);
        return;
      }
      // A fault about the envelope is invalid input too; SOAP only gives it its own fault code.
      const envelope = err instanceof EnvelopeFault ? err : undefined;
      const refusal = mendixRefusal(deps, ctx, envelope ? new UsherError('invalid-request', envelope.message) : err);
      writeSoapFault(ctx, soapVersionOf(ctx), refusal, envelope?.fault);
    },
  });
  return [json, soap];
}

async function sendJsonInvite(deps: InvitationDeps, ctx: Context): Promise<void> {
  await sendInvite(deps, await readParams(ctx));
  ctx.status = 204;
}

/** The parameters as a flat record of strings: a JSON object, or form fields. Other media types are 415. */
async function readParams(ctx: Context): Promise<Record<string, unknown>> {
  const raw = await readRawBody(ctx);
  if (raw.trim() === '') throw new UsherError('invalid-request', 'send the SendInvite parameters in the request body');
  if (ctx.is('application/x-www-form-urlencoded')) return Object.fromEntries(formFields(raw));
  const value = jsonOf(ctx, raw, 'send the SendInvite parameters as application/json or application/x-www-form-urlencoded');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsherError('invalid-request', 'send the SendInvite parameters as a JSON object');
  }
  return value as Record<string, unknown>;
}

async function sendSoapInvite(deps: InvitationDeps, ctx: Context): Promise<void> {
  if (!ctx.is('text/xml', 'application/soap+xml', 'application/xml')) {
    throw new UsherError('unsupported-media-type', 'send a SOAP 1.1 (text/xml) or SOAP 1.2 (application/soap+xml) request');
  }
  const version = soapVersionOf(ctx);
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(ctx.get('content-type'))?.[1];
  let text: string;
  try {
    text = decodeXmlBody(await readRawBytes(ctx, MAX_SOAP_BYTES), charset);
  } catch (err) {
    if (err instanceof XmlParseError) throw new UsherError('invalid-request', err.message);
    throw err;
  }
  const { operation, params } = readOperation(text, version);
  if (operation !== 'SendInvite') throw new UsherError('invalid-request', `${operation} is not an operation of this service; it has SendInvite`);
  await sendInvite(deps, params);
  writeSoapResponse(ctx, version, 'SendInviteResponse');
}

/** The WSDL, at the address SOAP stacks ask for it (`?wsdl`, any case); a GET without it is refused as SOAP would be. */
function wsdl(deps: InvitationDeps, ctx: Context): void {
  if (!Object.keys(ctx.query).some((name) => name.toLowerCase() === 'wsdl')) {
    throw new UsherError('method-not-allowed', 'GET serves the service description only: ask for ?wsdl');
  }
  ctx.type = 'text/xml; charset=utf-8';
  ctx.body = inviteApiWsdl(deps.publicBaseUrl);
}
