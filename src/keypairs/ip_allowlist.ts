import { BlockList, isIP } from 'node:net';

/** Most entries one keypair's allowlist may hold. */
export const MAX_ALLOWED_IPS = 100;

/**
 * One allowlist entry in canonical form (an address, or a CIDR range written with
 * its network address), or undefined when it is neither. "10.1.2.3/8" is refused
 * rather than silently widened: an admin who typed it meant something else.
 */
export function canonicalIpEntry(raw: string): string | undefined {
  const [address, prefix, ...rest] = raw.trim().split('/');
  if (rest.length > 0 || address === undefined) return undefined;
  const family = isIP(address);
  if (family === 0) return undefined;
  const canonical = canonicalAddress(address, family);
  if (prefix === undefined) return canonical;
  const bits = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) return undefined;
  if (networkOf(canonical, family, Number(prefix)) !== canonical) return undefined;
  return `${canonical}/${Number(prefix)}`;
}

/** Checks a request's address against a keypair's entries; built once per keypair. */
export class IpAllowlist {
  readonly #list = new BlockList();

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address, prefix] = entry.split('/') as [string, string | undefined];
      const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.#list.addAddress(address, type);
      else this.#list.addSubnet(address, Number(prefix), type);
    }
  }

  allows(address: string | undefined): boolean {
    if (address === undefined) return false;
    const plain = unmapIpv4(address);
    const family = isIP(plain);
    if (family === 0) return false;
    return this.#list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** "::ffff:10.0.0.1", as a dual-stack socket reports an IPv4 peer, is 10.0.0.1. */
export function unmapIpv4(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address;
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
