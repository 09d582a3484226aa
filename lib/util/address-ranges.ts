import { BlockList, isIP } from 'node:net';

/** An IPv4 address mapped into IPv6 (`::ffff:10.0.0.1`), as dual-stack sockets report IPv4 peers. */
const MAPPED_V4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** An address as it is compared: IPv4-mapped IPv6 as plain IPv4. */
export function plainAddress(address: string): string {
  const m = MAPPED_V4.exec(address);
  return m ? m[1] : address;
}

/** Addresses and CIDR ranges (`10.0.0.5`, `10.0.0.0/8`, `fd00::/8`), IPv4 and IPv6. */
export class AddressRanges {
  private constructor(private readonly list: BlockList) {}

  /** The ranges of `entries`, or the reason one is not an address or range. */
  static parse(entries: readonly string[]): AddressRanges | string {
    const list = new BlockList();
    for (const raw of entries) {
      if (typeof raw !== 'string') return 'every entry must be a string';
      const entry = raw.trim();
      const slash = entry.indexOf('/');
      const address = plainAddress(slash === -1 ? entry : entry.slice(0, slash));
      const family = isIP(address);
      if (family === 0) return `"${entry}" is not an IP address or CIDR range`;
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (slash === -1) {
        list.addAddress(address, type);
        continue;
      }
      const bits = entry.slice(slash + 1);
      const prefix = Number(bits);
      if (!/^\d{1,3}$/.test(bits) || prefix > (family === 4 ? 32 : 128)) {
        return `"${entry}" has an invalid prefix length`;
      }
      list.addSubnet(address, prefix, type);
    }
    return new AddressRanges(list);
  }

  /** Whether `address` is one of the addresses or in one of the ranges; false for anything else. */
  has(address: string): boolean {
    const a = plainAddress(address);
    const family = isIP(a);
    return family !== 0 && this.list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}
