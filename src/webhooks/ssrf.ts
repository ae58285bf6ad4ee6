/**
 * Keeps tenant-supplied webhook URLs away from our own network (SSRF). A URL passes only if every
 * address its host resolves to is public unicast, or the host/address is allow-listed by the
 * operator. The caller must connect to the returned addresses (not resolve again), otherwise a
 * DNS answer that changes between check and connect (rebinding) walks around the check.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import type { WebhookSettings } from './settings';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export class WebhookUrlError extends Error {
  override readonly name = 'WebhookUrlError';
  /** A short code: 'syntax', 'scheme', 'userinfo', 'length', 'unresolved', or the address range (e.g. 'loopback'). */
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}
export type LookupFn = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

const systemLookup: LookupFn = (hostname) => dnsLookup(hostname, { all: true });

/** URL.hostname keeps IPv6 brackets and a trailing dot; neither is part of the name. */
export function bareHostname(url: URL): string {
  return url.hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
}

/**
 * Syntax only (no DNS), for request validation: http(s), no credentials, at most 2048 characters.
 * WHATWG parsing also normalises odd IPv4 spellings (2130706433, 0x7f.1, 127.1) to dotted quads,
 * so the address check sees what the socket would connect to.
 */
export function parseWebhookUrl(url: string): URL {
  if (url.length > MAX_WEBHOOK_URL_LENGTH)
    throw new WebhookUrlError(`URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters`, 'length');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WebhookUrlError('not a valid absolute URL', 'syntax');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new WebhookUrlError(`scheme ${parsed.protocol} is not allowed (http or https only)`, 'scheme');
  // Credentials in the URL would be sent to the receiver and end up in logs and history.
  if (parsed.username || parsed.password)
    throw new WebhookUrlError('URL must not contain a user name or password', 'userinfo');
  if (!bareHostname(parsed)) throw new WebhookUrlError('URL has no host', 'syntax');
  return parsed;
}

/**
 * Range of an address, 'unicast' for a public one. IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as
 * the IPv4 address it reaches. ipaddr.js calls the deprecated IPv4-compatible ::a.b.c.d unicast,
 * but some stacks route it to IPv4, so it is refused here.
 */
function rangeOf(ip: ipaddr.IPv4 | ipaddr.IPv6): string {
  const range = ip.range(); // ::1 and :: first: they are in ::/96 too
  if (
    range === 'unicast' &&
    ip.kind() === 'ipv6' &&
    ip
      .toByteArray()
      .slice(0, 12)
      .every((b) => b === 0)
  )
    return 'ipv4Compatible';
  return range;
}

interface AllowList {
  hosts: Set<string>;
  nets: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>;
}

function parseAllow(entries: string[]): AllowList {
  const allow: AllowList = { hosts: new Set(), nets: [] };
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase().replace(/\.$/, '');
    if (!entry) continue;
    if (ipaddr.isValidCIDR(entry)) allow.nets.push(ipaddr.parseCIDR(entry));
    else if (ipaddr.isValid(entry)) {
      const ip = ipaddr.process(entry);
      allow.nets.push([ip, ip.kind() === 'ipv4' ? 32 : 128]);
    } else allow.hosts.add(entry);
  }
  return allow;
}

const allowsAddress = (allow: AllowList, ip: ipaddr.IPv4 | ipaddr.IPv6): boolean =>
  allow.nets.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));

/**
 * Resolves the URL's host and returns the addresses to connect to, or throws WebhookUrlError naming
 * why the URL is refused. DNS failures are not refusals: they propagate as they are (transient).
 */
export async function checkWebhookUrl(
  url: string,
  settings: Pick<WebhookSettings, 'allow'>,
  lookup: LookupFn = systemLookup,
): Promise<ResolvedAddress[]> {
  const parsed = parseWebhookUrl(url);
  const host = bareHostname(parsed);
  const allow = parseAllow(settings.allow);
  const hostAllowed = allow.hosts.has(host);

  // An IP literal is its own answer: no DNS, and nothing for a resolver to swap.
  const answers = ipaddr.isValid(host) ? [{ address: host }] : await lookup(host);
  if (answers.length === 0) throw new WebhookUrlError(`${host} did not resolve to any address`, 'unresolved');

  return answers.map(({ address }) => {
    const ip = ipaddr.process(address);
    const range = rangeOf(ip);
    if (range !== 'unicast' && !hostAllowed && !allowsAddress(allow, ip)) {
      const via = address === host ? '' : `${host} resolves to `;
      throw new WebhookUrlError(`${via}${ip.toString()}, which is not a public address (${range})`, range);
    }
    return { address: ip.toString(), family: ip.kind() === 'ipv4' ? 4 : 6 };
  });
}
