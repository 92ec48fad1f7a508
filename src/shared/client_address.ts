import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { unmapIpv4 } from './ip.js';

/**
 * The address a request came from. With `trustedProxyHops` = 0 that is the socket's
 * peer, whatever X-Forwarded-For says. With n > 0, the last n entries of
 * X-Forwarded-For were appended by proxies Keygate trusts, so the client is the
 * n-th entry from the right; anything further left was written by the client and
 * proves nothing. A header shorter than that, or not an address, falls back to the peer.
 */
export function clientAddress(req: IncomingMessage, trustedProxyHops: number): string | undefined {
  const peer = req.socket.remoteAddress && unmapIpv4(req.socket.remoteAddress);
  if (trustedProxyHops === 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const raw = Array.isArray(header) ? header.join(',') : header;
  if (!raw) return peer;
  const hops = raw.split(',').map((entry) => entry.trim());
  const candidate = hops[hops.length - trustedProxyHops];
  return candidate !== undefined && isIP(unmapIpv4(candidate)) !== 0 ? unmapIpv4(candidate) : peer;
}
