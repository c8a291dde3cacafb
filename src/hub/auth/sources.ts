import { BlockList, isIP } from 'node:net';

/** A CIDR block ("10.0.0.0/8", "fd00::/8") or one address ("127.0.0.1", "::1"). */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

export function parseCidr(text: string): { cidr?: Cidr; problem?: string } {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return { problem: `"${text}" is not a CIDR block (like 10.0.0.0/8) or an address` };
  const version = isIP(address);
  if (version === 0) return { problem: `"${text}" is not a CIDR block (like 10.0.0.0/8) or an address` };
  const family = version === 4 ? 'ipv4' : 'ipv6';
  const max = version === 4 ? 32 : 128;
  if (prefixText === undefined) return { cidr: { address, prefix: max, family } };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return { problem: `"${text}": the prefix length must be 0 to ${max}` };
  return { cidr: { address, prefix: Number(prefixText), family } };
}

const MAPPED_IPV4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** Whether a peer address lies in any of the configured blocks (IPv4-mapped IPv6 peers count as IPv4). */
export class SourceMatcher {
  private readonly list = new BlockList();

  constructor(cidrs: readonly string[]) {
    for (const text of cidrs) {
      const { cidr } = parseCidr(text);
      if (cidr) this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    }
  }

  matches(remoteAddress: string | undefined): boolean {
    if (remoteAddress === undefined || remoteAddress === '') return false;
    const mapped = MAPPED_IPV4.exec(remoteAddress);
    const address = mapped ? mapped[1]! : remoteAddress;
    const version = isIP(address);
    if (version === 0) return false;
    return this.list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }
}
