import dns, { type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

/*
 * Outbound safety. A webhook URL is chosen by a tenant, and the worker that calls it sits inside the operator's
 * network: without these checks an endpoint could make Usher call its database, the cloud metadata service or an admin
 * port (server-side request forgery). So, unless the settings allow them:
 *   - only https (plain http is for `usher dev` and tests);
 *   - no target in a private, loopback, link-local or other special-purpose range (the IANA special-purpose
 *     registries), whether the URL names the address or a DNS name resolves to it;
 *   - the check runs again at every delivery, on the addresses the connection actually uses (a custom `lookup`),
 *     so a name that resolved to a public address when the endpoint was saved and to 10.0.0.5 now (DNS rebinding)
 *     is refused;
 *   - redirects are never followed (a 3xx is a failed attempt), so a public endpoint cannot bounce us inward.
 */

export interface TargetPolicy {
  allowHttp: boolean;
  allowPrivateTargets: boolean;
}

// One list per family: a BlockList checks IPv4 addresses against IPv4-mapped IPv6 rules too, and ::ffff:0:0/96 below
// would then match every IPv4 address.
const special4 = new BlockList();
const special6 = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.31.196.0', 24], // AS112
  ['192.52.193.0', 24], // AMT
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['192.175.48.0', 24], // AS112
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  special4.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 96], // unspecified, loopback, IPv4-compatible
  ['::ffff:0:0', 96], // IPv4-mapped: would reach any IPv4 address, checked or not
  ['64:ff9b::', 96], // NAT64
  ['64:ff9b:1::', 48], // local NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID, …)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds an IPv4 address
  ['3fff::', 20], // documentation
  ['5f00::', 16], // segment routing
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  special6.addSubnet(net, prefix, 'ipv6');
}

/** Whether an IP address is in a special-purpose range (anything but the public unicast internet). */
export function isSpecialPurposeAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return family === 4 ? special4.check(address, 'ipv4') : special6.check(address, 'ipv6');
}

/** The URL's host as an IP address, when it is one (brackets of IPv6 literals removed). */
const literalAddress = (hostname: string): string | undefined => {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) ? bare : undefined;
};

/** `localhost` and its subdomains always mean this machine (RFC 6761), whatever a resolver says. */
const isLocalhostName = (hostname: string): boolean => /(^|\.)localhost\.?$/i.test(hostname);

/** Why this URL may not be a webhook target, judged without DNS; undefined if it may. */
export function urlProblem(url: URL, policy: TargetPolicy): string | undefined {
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowHttp)) {
    return policy.allowHttp ? 'must be an http or https URL' : 'must be an https URL';
  }
  if (url.username || url.password) return 'must not carry credentials; authenticate the request by its signature';
  if (!url.hostname) return 'must name a host';
  if (policy.allowPrivateTargets) return undefined;
  const literal = literalAddress(url.hostname);
  if (literal && isSpecialPurposeAddress(literal)) return `names ${literal}, a private or special-purpose address`;
  if (isLocalhostName(url.hostname)) return 'names localhost';
  return undefined;
}

/**
 * The full check when an endpoint is saved: the URL, then the addresses its host resolves to now. A name that does
 * not resolve passes (the receiver may not be set up yet); deliveries check again on every attempt.
 */
export async function targetProblem(raw: string, policy: TargetPolicy, timeoutMs = 3000): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be a URL';
  }
  const problem = urlProblem(url, policy);
  if (problem || policy.allowPrivateTargets || literalAddress(url.hostname)) return problem;
  const addresses = await Promise.race([
    dns.promises.lookup(url.hostname, { all: true, verbatim: true }).catch(() => [] as LookupAddress[]),
    new Promise<LookupAddress[]>((resolve) => setTimeout(() => resolve([]), timeoutMs).unref()),
  ]);
  const bad = addresses.find((a) => isSpecialPurposeAddress(a.address));
  return bad ? `resolves to ${bad.address}, a private or special-purpose address` : undefined;
}

export class TargetRefused extends Error {
  readonly code = 'ETARGETREFUSED';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request that refuses special-purpose addresses: the check applies to the very addresses the
 * socket then connects to, so there is no window between checking and connecting.
 */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const bad = addresses.find((a) => isSpecialPurposeAddress(a.address));
    if (bad) return callback(new TargetRefused(`${hostname} resolves to ${bad.address}, a private or special-purpose address`), []);
    if (options.all) return callback(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
    return callback(null, first.address, first.family);
  });
}
