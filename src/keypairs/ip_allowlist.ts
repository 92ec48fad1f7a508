import { BlockList, isIP } from 'node:net';
import { unmapIpv4 } from '../shared/ip.js';

/**
 * One allowlist entry in canonical form (an address, or a CIDR range written with
 * its network address), or undefined when it is neither. "10.1.2.3/8" is refused
 * rather than silently widened: an admin who typed it meant something else. A zone
 * id ("fe80::1%eth0") is refused too: it names an interface of the host that wrote
 * it, which a request's address never carries. An IPv4-mapped entry ("::ffff:10.0.0.1",
 * "::ffff:10.0.0.0/104") is kept in its IPv4 form, as the IPv4 entry it means.
 */
export function canonicalIpEntry(raw: string): string | undefined {
  const [address, prefix, ...rest] = raw.trim().split('/');
  if (rest.length > 0 || address === undefined || address.includes('%')) return undefined;
  const family = isIP(address);
  if (family === 0) return undefined;
  const canonical = canonicalAddress(address, family);
  const bits = family === 4 ? 32 : 128;
  if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits)) return undefined;
  if (prefix !== undefined && networkOf(canonical, family, Number(prefix)) !== canonical) return undefined;
  const mapped = family === 6 ? mappedIpv4(canonical) : undefined;
  if (mapped !== undefined && (prefix === undefined || Number(prefix) >= 96)) {
    return prefix === undefined ? mapped : `${mapped}/${Number(prefix) - 96}`;
  }
  return prefix === undefined ? canonical : `${canonical}/${Number(prefix)}`;
}

/**
 * Checks a request's address against a keypair's entries; built once per keypair.
 * Each family is checked against its own entries only: an IPv4 client (or an
 * IPv4-mapped one, "::ffff:a.b.c.d") never matches an IPv6 entry, so "::/0" is every
 * IPv6 client and no IPv4 one. (Node's BlockList alone would match IPv4 addresses
 * against IPv6 ranges that cover their mapped form, ::/0 among them.)
 */
export class IpAllowlist {
  readonly #ipv4 = new BlockList();
  readonly #ipv6 = new BlockList();

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address, prefix] = entry.split('/') as [string, string | undefined];
      const family = isIP(address);
      if (family === 0) continue;
      const list = family === 4 ? this.#ipv4 : this.#ipv6;
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (prefix === undefined) list.addAddress(address, type);
      else list.addSubnet(address, Number(prefix), type);
    }
  }

  allows(address: string | undefined): boolean {
    if (address === undefined) return false;
    const plain = unmapIpv4(address);
    const family = isIP(plain);
    if (family === 4) return this.#ipv4.check(plain, 'ipv4');
    // A zone id on the client's address ("fe80::1%eth0") is not part of the address.
    if (family === 6) return this.#ipv6.check(plain.split('%')[0]!, 'ipv6');
    return false;
  }
}

/** "::ffff:a00:1" (any IPv6 spelling of an IPv4-mapped address) as "10.0.0.1"; undefined for other addresses. */
function mappedIpv4(canonical: string): string | undefined {
  const groups = expandIpv6(canonical);
  if (groups.length !== 8 || groups.slice(0, 5).some((group) => group !== 0) || groups[5] !== 0xffff) return undefined;
  return [groups[6]! >> 8, groups[6]! & 255, groups[7]! >> 8, groups[7]! & 255].join('.');
}

function canonicalAddress(address: string, family: number): string {
  if (family === 4) return address.split('.').map(Number).join('.');
  // The WHATWG URL parser prints IPv6 in RFC 5952 form: lower case, zeros compressed.
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** The network address of `address/prefix`, in canonical form. */
function networkOf(address: string, family: number, prefix: number): string {
  if (family === 4) {
    const value = address.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
    const mask = prefix === 0 ? 0 : Number((0xffffffffn << BigInt(32 - prefix)) & 0xffffffffn);
    const network = (value & mask) >>> 0;
    return [24, 16, 8, 0].map((shift) => (network >>> shift) & 255).join('.');
  }
  const groups = expandIpv6(address);
  const value = groups.reduce((sum, group) => (sum << 16n) | BigInt(group), 0n);
  const mask = prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);
  const network = value & mask;
  const hex = Array.from({ length: 8 }, (_, i) => ((network >> BigInt((7 - i) * 16)) & 0xffffn).toString(16)).join(':');
  return canonicalAddress(hex, 6);
}

function expandIpv6(address: string): number[] {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  if (tail === undefined) return left;
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}
