/** Rules about keys and key URLs that the keypairs, the trusted issuers and the token path share. */

/** JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1): such a JWK is never stored. */
export const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * Whether parsed JSON holds a private member anywhere: in a JWK, a JWK Set, or a key
 * nested in some other object. For what a person pasted or pointed at, which is refused
 * (and never echoed) whatever shape it came in.
 */
export function holdsPrivateJwkMember(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsPrivateJwkMember);
  if (typeof value !== 'object' || value === null) return false;
  return PRIVATE_JWK_MEMBERS.some((member) => Object.hasOwn(value, member)) || Object.values(value).some(holdsPrivateJwkMember);
}

/** Hosts where plain http is allowed for an issuer or its keys: a test issuer, or a cluster reached through a local port. */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}
