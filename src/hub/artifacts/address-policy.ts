import { cidr, contains, effectiveAddress, formatAddress, parseAddress, parseRuleCidr, type Cidr } from './ip-ranges.ts';

/**
 * Which addresses the hub may connect to when it fetches an artifact: the guard against server-side
 * request forgery. Whoever may call PUT /artifacts/fetch/ names the URL, so without it any REST caller
 * could make the hub read its cloud's metadata service (169.254.169.254: instance credentials), the
 * cluster's internal services, or its own admin port.
 *
 * The rules, first match wins (docs/configuration.md, "Artifacts"):
 *   1. an address in `artifacts.network.deny` is refused;
 *   2. an address in `artifacts.network.allow` is allowed;
 *   3. an address in a range below (loopback, private, link-local, …) is refused;
 *   4. any other (public) address is allowed, unless `artifacts.network.allowPublic` is false.
 * IPv6 addresses that carry an IPv4 address the packets go to (IPv4-mapped `::ffff:10.0.0.1`,
 * IPv4-translated `::ffff:0:10.0.0.1`, NAT64's well-known `64:ff9b::10.0.0.1`) are judged as that IPv4
 * address, and so are allow and deny entries written that way. The other forms that carry IPv4
 * addresses (IPv4-compatible, local-use NAT64, 6to4, Teredo) are refused by default: whether they lead
 * anywhere depends on the network, and nothing fetched from the Internet needs them.
 */

interface NamedRange {
  block: Cidr;
  /** What the range is, for the refusal message. */
  what: string;
}

function range(text: string, what: string): NamedRange {
  return { block: cidr(text), what };
}

/** Refused unless `artifacts.network.allow` names them: nothing an artifact server on the Internet lives at. */
export const REFUSED_BY_DEFAULT: readonly NamedRange[] = [
  range('0.0.0.0/8', 'unspecified ("this network")'),
  range('127.0.0.0/8', 'loopback'),
  range('10.0.0.0/8', 'private (RFC 1918)'),
  range('172.16.0.0/12', 'private (RFC 1918)'),
  range('192.168.0.0/16', 'private (RFC 1918)'),
  range('100.64.0.0/10', "shared address space (RFC 6598, carrier-grade NAT; Alibaba Cloud's metadata service is 100.100.100.200)"),
  range('169.254.0.0/16', 'link-local (cloud metadata services live at 169.254.169.254)'),
  // A public address, but the same one in every Azure virtual network, answering only from inside it.
  range('168.63.129.16/32', "Azure's WireServer (platform metadata, VM agent certificates, DNS)"),
  range('192.0.0.0/24', "IETF protocol assignments (RFC 6890; Oracle Cloud Classic's metadata service is 192.0.0.192)"),
  range('198.18.0.0/15', 'benchmarking (RFC 2544), used inside networks, never on the Internet'),
  range('224.0.0.0/4', 'multicast'),
  range('240.0.0.0/4', 'reserved (and broadcast)'),
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  range('::/96', 'IPv4-compatible (deprecated, RFC 4291), which carries an IPv4 address'),
  range('64:ff9b:1::/48', 'local-use NAT64 (RFC 8215), which carries an IPv4 address where the network decides'),
  range('2001::/32', 'Teredo (RFC 4380), which carries IPv4 addresses'),
  range('2002::/16', '6to4 (RFC 3056), which carries an IPv4 address'),
  range('fc00::/7', "unique local (ULA; AWS's IPv6 metadata service is fd00:ec2::254)"),
  range('fe80::/10', 'link-local'),
  range('fec0::/10', 'site-local (deprecated)'),
  range('ff00::/8', 'multicast'),
];

export interface NetworkRules {
  /** CIDR blocks or addresses always refused (wins over allow). */
  deny: readonly string[];
  /** CIDR blocks or addresses allowed even in the ranges refused by default. */
  allow: readonly string[];
  /** Whether addresses outside every range (the Internet) are allowed. */
  allowPublic: boolean;
}

export interface AddressVerdict {
  allowed: boolean;
  /** The address judged, canonical (the IPv4 address an IPv4-mapped one carries). */
  address: string;
  /** Which rule decided, for messages and logs. */
  rule: string;
}

function parsedList(list: readonly string[], key: string): Cidr[] {
  return list.map((text, i) => {
    const parsed = parseRuleCidr(text);
    if ('problem' in parsed) throw new Error(`${key}[${i}]: ${parsed.problem}`);
    return parsed.cidr;
  });
}

export class AddressPolicy {
  private readonly deny: Cidr[];
  private readonly allow: Cidr[];

  constructor(private readonly rules: NetworkRules) {
    this.deny = parsedList(rules.deny, 'artifacts.network.deny');
    this.allow = parsedList(rules.allow, 'artifacts.network.allow');
  }

  /** The verdict on one address (any spelling); what is not an IP address is refused. */
  check(text: string): AddressVerdict {
    const parsed = parseAddress(text);
    if (parsed === undefined) return { allowed: false, address: text, rule: 'not an IP address' };
    const bytes = effectiveAddress(parsed);
    const address = formatAddress(bytes);
    const denyIndex = this.deny.findIndex((block) => contains(block, bytes));
    if (denyIndex >= 0) return { allowed: false, address, rule: `artifacts.network.deny[${denyIndex}] (${this.deny[denyIndex]!.text})` };
    const allowIndex = this.allow.findIndex((block) => contains(block, bytes));
    if (allowIndex >= 0) return { allowed: true, address, rule: `artifacts.network.allow[${allowIndex}] (${this.allow[allowIndex]!.text})` };
    const refused = REFUSED_BY_DEFAULT.find((r) => contains(r.block, bytes));
    if (refused !== undefined) {
      return { allowed: false, address, rule: `${refused.block.text} is ${refused.what}, refused unless artifacts.network.allow lists it` };
    }
    if (!this.rules.allowPublic) return { allowed: false, address, rule: 'not in artifacts.network.allow, and artifacts.network.allowPublic is false' };
    return { allowed: true, address, rule: 'a public address' };
  }
}
