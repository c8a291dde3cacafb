import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP addresses as bytes, and CIDR blocks over them. Compared as bytes rather than as text because one
 * IPv6 address has many spellings (`::ffff:127.0.0.1`, `::ffff:7f00:1`, `0:0:0:0:0:ffff:7f00:1` are one
 * address, and the URL parser rewrites the first into the second): an address policy that compared
 * strings could be walked around by spelling the same address another way.
 */

const IPV4_BYTES = 4;
const IPV6_BYTES = 16;
const IPV6_GROUPS = 8;
const BITS_PER_BYTE = 8;
const BYTE_MAX = 0xff;
const HEX = 16;

/** An address: 4 bytes (IPv4) or 16 (IPv6). */
export type IpBytes = Uint8Array;

export interface Cidr {
  /** As configured, for messages. */
  text: string;
  bytes: IpBytes;
  prefix: number;
}

function ipv4Bytes(text: string): IpBytes {
  return Uint8Array.from(text.split('.').map(Number));
}

/** The bytes of an address in any spelling node:net accepts, or undefined when it is not one. */
export function parseAddress(text: string): IpBytes | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIPv4(bare)) return ipv4Bytes(bare);
  // A zone (`fe80::1%eth0`) names an interface, not another address.
  const address = bare.split('%')[0]!;
  if (!isIPv6(address)) return undefined;
  // An embedded dotted quad (`::ffff:127.0.0.1`) is the last two groups.
  const lastColon = address.lastIndexOf(':');
  const last = address.slice(lastColon + 1);
  let hex = address;
  if (isIPv4(last)) {
    const b = ipv4Bytes(last);
    hex = `${address.slice(0, lastColon + 1)}${((b[0]! << BITS_PER_BYTE) | b[1]!).toString(HEX)}:${((b[2]! << BITS_PER_BYTE) | b[3]!).toString(HEX)}`;
  }
  const [head = '', rest] = hex.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, HEX)));
  const before = parse(head);
  const after = rest === undefined ? [] : parse(rest);
  const words = rest === undefined ? before : [...before, ...new Array<number>(Math.max(0, IPV6_GROUPS - before.length - after.length)).fill(0), ...after];
  if (words.length !== IPV6_GROUPS || words.some((w) => !Number.isInteger(w))) return undefined;
  const out = new Uint8Array(IPV6_BYTES);
  words.forEach((w, i) => {
    out[i * 2] = (w >> BITS_PER_BYTE) & BYTE_MAX;
    out[i * 2 + 1] = w & BYTE_MAX;
  });
  return out;
}

/** The canonical text of an address (dotted quad, or node's compressed IPv6), for messages. */
export function formatAddress(bytes: IpBytes): string {
  if (bytes.length === IPV4_BYTES) return Array.from(bytes).join('.');
  const words: string[] = [];
  for (let i = 0; i < IPV6_BYTES; i += 2) words.push(((bytes[i]! << BITS_PER_BYTE) | bytes[i + 1]!).toString(HEX));
  // The longest run of zero groups (two or more) becomes '::'.
  let best = { at: -1, length: 0 };
  for (let i = 0; i < words.length;) {
    if (words[i] !== '0') {
      i += 1;
      continue;
    }
    let j = i;
    while (j < words.length && words[j] === '0') j += 1;
    if (j - i > best.length && j - i > 1) best = { at: i, length: j - i };
    i = j;
  }
  if (best.at < 0) return words.join(':');
  return `${words.slice(0, best.at).join(':')}::${words.slice(best.at + best.length).join(':')}`;
}

/** A CIDR block ("10.0.0.0/8", "fd00::/8") or one address ("127.0.0.1", "::1"); a problem says what is wrong. */
export function parseCidr(text: string): { cidr: Cidr } | { problem: string } {
  const [address = '', prefixText, extra] = text.trim().split('/');
  const bytes = extra === undefined ? parseAddress(address) : undefined;
  if (bytes === undefined) return { problem: `"${text}" is not a CIDR block (like 10.0.0.0/8 or fd00::/8) or an address` };
  const max = bytes.length * BITS_PER_BYTE;
  if (prefixText === undefined) return { cidr: { text, bytes, prefix: max } };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return { problem: `"${text}": the prefix length must be 0 to ${max}` };
  return { cidr: { text, bytes, prefix: Number(prefixText) } };
}

/** A CIDR block known to be valid (the built-in ranges). */
export function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if ('problem' in parsed) throw new Error(parsed.problem);
  return parsed.cidr;
}

/** Whether the block holds the address (an IPv4 block never holds an IPv6 address, nor the reverse). */
export function contains(block: Cidr, address: IpBytes): boolean {
  if (block.bytes.length !== address.length) return false;
  const whole = Math.floor(block.prefix / BITS_PER_BYTE);
  for (let i = 0; i < whole; i++) if (block.bytes[i] !== address[i]) return false;
  const bits = block.prefix % BITS_PER_BYTE;
  if (bits === 0) return true;
  const mask = (BYTE_MAX << (BITS_PER_BYTE - bits)) & BYTE_MAX;
  return (block.bytes[whole]! & mask) === (address[whole]! & mask);
}

/** IPv6 prefixes whose last 32 bits are an IPv4 address the packets actually go to. */
const IPV4_CARRYING = [
  /** IPv4-mapped (`::ffff:a.b.c.d`): a dual-stack socket's way of reaching a.b.c.d. */
  cidr('::ffff:0:0/96'),
  /** IPv4-translated (`::ffff:0:a.b.c.d`, RFC 2765's SIIT): a translator forwards to a.b.c.d. */
  cidr('::ffff:0:0:0/96'),
  /** NAT64's well-known prefix (RFC 6052): the gateway forwards to a.b.c.d. */
  cidr('64:ff9b::/96'),
];
const IPV4_CARRYING_PREFIX = 96;

/**
 * The IPv4 address an IPv6 address stands for (IPv4-mapped, IPv4-translated, NAT64's well-known
 * prefix), so that rules on IPv4 blocks apply to it; otherwise the address itself.
 */
export function effectiveAddress(address: IpBytes): IpBytes {
  if (address.length === IPV6_BYTES && IPV4_CARRYING.some((block) => contains(block, address))) return address.slice(IPV6_BYTES - IPV4_BYTES);
  return address;
}

/**
 * A rule's block (`artifacts.network.allow`/`deny`) as addresses are judged: one written in a form that
 * carries IPv4 addresses (`::ffff:10.0.0.0/104`) is the IPv4 block it carries (`10.0.0.0/8`), since an
 * address in that form is judged as its IPv4 address and an IPv6 block would never match it. The whole
 * carrying prefix (`64:ff9b::/96`, every IPv4 address) is refused rather than read as 0.0.0.0/0: allowing
 * "NAT64" must not open every private address.
 */
export function parseRuleCidr(text: string): { cidr: Cidr } | { problem: string } {
  const parsed = parseCidr(text);
  if ('problem' in parsed) return parsed;
  const block = parsed.cidr;
  const carrying = block.bytes.length === IPV6_BYTES && block.prefix >= IPV4_CARRYING_PREFIX ? IPV4_CARRYING.find((c) => contains(c, block.bytes)) : undefined;
  if (carrying === undefined) return parsed;
  if (block.prefix === IPV4_CARRYING_PREFIX) {
    return {
      problem: `"${text}" is every IPv4 address in the form ${carrying.text} carries (addresses in it are judged as their IPv4 address): list IPv4 blocks instead (10.0.0.0/8, or 0.0.0.0/0 if every IPv4 address is meant)`,
    };
  }
  const bytes = block.bytes.slice(IPV6_BYTES - IPV4_BYTES);
  const prefix = block.prefix - IPV4_CARRYING_PREFIX;
  return { cidr: { text: `${text} (= ${formatAddress(bytes)}/${prefix})`, bytes, prefix } };
}
