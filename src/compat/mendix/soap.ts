import type { Context } from 'koa';
import { UsherError } from '../../lib/errors';
import { childElements, escapeXml, parseXml, textOf, type XmlElement, XmlParseError } from '../xml';
import type { MendixRefusal } from './errors';
import { MENDIX_SOAP_NAMESPACE } from './wsdl';

/** SOAP 1.1 and 1.2: each its envelope namespace and media type (SOAP 1.2 requires application/soap+xml). */
export type SoapVersion = '1.1' | '1.2';
const ENVELOPE: Record<SoapVersion, string> = { '1.1': 'http://schemas.xmlsoap.org/soap/envelope/', '1.2': 'http://www.w3.org/2003/05/soap-envelope' };
const MEDIA_TYPE: Record<SoapVersion, string> = { '1.1': 'text/xml; charset=utf-8', '1.2': 'application/soap+xml; charset=utf-8' };

/** The version a request speaks, by its media type; the envelope must then be in that version's namespace. */
export const soapVersionOf = (ctx: Context): SoapVersion => (ctx.is('application/soap+xml') ? '1.2' : '1.1');

/** A fault about the envelope itself, which SOAP codes apart from the operation's own refusals. */
export class EnvelopeFault extends Error {
  constructor(
    readonly fault: 'VersionMismatch' | 'MustUnderstand',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The operation element and its parameters (by local name, text only) from a SOAP request. Anything that is not an
 * envelope of `version` carrying one operation is refused: a malformed one as invalid input, another version's (or an
 * unknown) envelope namespace as VersionMismatch, a header block marked mustUnderstand as MustUnderstand, since this
 * service understands none.
 */
export function readOperation(text: string, version: SoapVersion): { operation: string; params: Record<string, string> } {
  let envelope: XmlElement;
  try {
    envelope = parseXml(text);
  } catch (err) {
    if (err instanceof XmlParseError) throw new UsherError('invalid-request', `the request is not well-formed XML: ${err.message}`);
    throw err;
  }
  if (envelope.localName !== 'Envelope') throw new UsherError('invalid-request', `expected a SOAP Envelope, not <${envelope.name}>`);
  if (envelope.namespace !== ENVELOPE[version]) {
    throw new EnvelopeFault('VersionMismatch', `a SOAP ${version} request (${MEDIA_TYPE[version].split(';')[0]}) needs an Envelope in ${ENVELOPE[version]}`);
  }
  const parts = childElements(envelope);
  const header = parts.find((e) => e.localName === 'Header' && e.namespace === envelope.namespace);
  for (const block of header ? childElements(header) : []) {
    const mustUnderstand = [...block.attributes].find(([name]) => name.split(':').pop() === 'mustUnderstand')?.[1];
    if (mustUnderstand === '1' || mustUnderstand === 'true') throw new EnvelopeFault('MustUnderstand', `the header block <${block.name}> is not understood here`);
  }
  const body = parts.find((e) => e.localName === 'Body' && e.namespace === envelope.namespace);
  const operation = body ? childElements(body) : [];
  if (operation.length !== 1) throw new UsherError('invalid-request', 'the SOAP Body must hold exactly one operation element');
  const params: Record<string, string> = {};
  for (const param of childElements(operation[0]!)) {
    if (param.localName in params) throw new UsherError('invalid-request', `${param.localName} is given more than once`, { field: param.localName });
    const nil = [...param.attributes].some(([name, value]) => name.split(':').pop() === 'nil' && (value === 'true' || value === '1'));
    if (!nil) params[param.localName] = textOf(param);
  }
  return { operation: operation[0]!.localName, params };
}

/** A successful answer: the operation's response element in an envelope of the request's version. */
export function writeSoapResponse(ctx: Context, version: SoapVersion, element: string): void {
  ctx.status = 200;
  ctx.type = MEDIA_TYPE[version];
  ctx.set('Cache-Control', 'no-store');
  ctx.body = envelopeOf(version, `<tns:${element} xmlns:tns="${MENDIX_SOAP_NAMESPACE}"/>`);
}

/**
 * A refusal as a SOAP fault, its detail the same code, message, field and request id the JSON refusal carries. SOAP
 * 1.1 faults travel with HTTP 500 (WS-I Basic Profile); SOAP 1.2 ones with 400 for the caller's faults, 500 for ours.
 */
export function writeSoapFault(ctx: Context, version: SoapVersion, refusal: MendixRefusal, envelopeFault?: EnvelopeFault['fault']): void {
  const ours = refusal.status >= 500;
  const detail = `<tns:InviteFault xmlns:tns="${MENDIX_SOAP_NAMESPACE}">${[
    ['code', refusal.code],
    ['message', refusal.message],
    ...(refusal.field ? [['field', refusal.field]] : []),
    ['requestId', refusal.requestId],
  ]
    .map(([name, value]) => `<tns:${name}>${escapeXml(value!)}</tns:${name}>`)
    .join('')}</tns:InviteFault>`;
  const message = escapeXml(refusal.message);
  let fault: string;
  if (version === '1.1') {
    const code = envelopeFault ?? (ours ? 'Server' : 'Client');
    fault = `<soap:Fault><faultcode>soap:${code}</faultcode><faultstring>${message}</faultstring><detail>${detail}</detail></soap:Fault>`;
    ctx.status = 500;
  } else {
    const code = envelopeFault ?? (ours ? 'Receiver' : 'Sender');
    fault = `<soap:Fault><soap:Code><soap:Value>soap:${code}</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="en">${message}</soap:Text></soap:Reason><soap:Detail>${detail}</soap:Detail></soap:Fault>`;
    ctx.status = ours || envelopeFault ? 500 : 400;
  }
  ctx.type = MEDIA_TYPE[version];
  ctx.set('Cache-Control', 'no-store');
  ctx.body = envelopeOf(version, fault);
}

const envelopeOf = (version: SoapVersion, content: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<soap:Envelope xmlns:soap="${ENVELOPE[version]}"><soap:Body>${content}</soap:Body></soap:Envelope>\n`;
