/**
 * `--profiles-from` addresses. The scheme names the store, whether TLS is used, and (Pyroscope only)
 * the protocol: Parca answers gRPC; Pyroscope serves its API through the Connect protocol over
 * HTTP/1.1 (and gRPC where its listener speaks HTTP/2). Pure.
 */
import { usageError } from '../../errors.js';

export type StoreKind = 'parca' | 'pyroscope';
export type Protocol = 'grpc' | 'connect';

export interface StoreAddress {
  kind: StoreKind;
  protocol: Protocol;
  tls: boolean;
  /** `host:port` (IPv6 hosts in brackets). */
  authority: string;
  /** Path prefix before `/<service>/<method>` for Connect (a gateway's sub-path); '' otherwise. */
  basePath: string;
  /** The address as it is shown in messages: normalised, never with credentials. */
  shown: string;
}

interface Scheme {
  kind: StoreKind;
  protocol: Protocol;
  tls: boolean;
}

/** Default ports: Parca's gRPC 7070, Pyroscope's HTTP 4040, 443 for TLS. */
const SCHEMES: Record<string, Scheme> = {
  parca: { kind: 'parca', protocol: 'grpc', tls: false },
  parcas: { kind: 'parca', protocol: 'grpc', tls: true },
  pyroscope: { kind: 'pyroscope', protocol: 'connect', tls: false },
  pyroscopes: { kind: 'pyroscope', protocol: 'connect', tls: true },
  'pyroscope+grpc': { kind: 'pyroscope', protocol: 'grpc', tls: false },
  'pyroscopes+grpc': { kind: 'pyroscope', protocol: 'grpc', tls: true },
};

const HINT = 'use parca://HOST:PORT or pyroscope://HOST:PORT (parcas://, pyroscopes:// for TLS; pyroscope+grpc:// for gRPC), e.g. --profiles-from pyroscope://pyroscope.monitoring:4040';

/** Parse and validate a `--profiles-from` value; a usage error with a hint on anything else. */
export function parseProfileStoreUrl(text: string): StoreAddress {
  const flag = '--profiles-from';
  const m = /^([a-z+]+):\/\/(.*)$/i.exec(text.trim());
  if (!m) throw usageError(`${flag} ${JSON.stringify(text)} is not a profile store address`, HINT);
  const scheme = SCHEMES[m[1].toLowerCase()];
  if (!scheme) {
    const http = /^https?$/i.test(m[1]);
    throw usageError(`${flag}: unknown scheme "${m[1]}://"`, http ? `name the store instead of the protocol: ${HINT}` : HINT);
  }
  let url: URL;
  try {
    // A stand-in scheme with no default port makes URL parse host, port and brackets but keep port 80/443.
    url = new URL(`x-store://${m[2]}`);
  } catch {
    throw usageError(`${flag} ${JSON.stringify(text)} is not a valid address`, HINT);
  }
  // Credentials on the command line end up in shell history and `ps`; they have their own flags.
  if (url.username || url.password) throw usageError(`${flag}: credentials in the address are not accepted`, 'use --profiles-token, or --profiles-user with P99SLEUTH_PROFILES_PASSWORD');
  if (url.search || url.hash) throw usageError(`${flag}: the address takes no query or fragment`, HINT);
  if (!url.hostname) throw usageError(`${flag} ${JSON.stringify(text)} has no host`, HINT);
  const basePath = url.pathname.replace(/\/+$/, '');
  if (basePath && scheme.protocol === 'grpc') throw usageError(`${flag}: a gRPC address has no path (got "${url.pathname}")`, HINT);
  const port = url.port || (scheme.tls ? '443' : scheme.kind === 'parca' ? '7070' : '4040');
  const authority = `${url.hostname.toLowerCase()}:${port}`;
  return { ...scheme, authority, basePath, shown: `${m[1].toLowerCase()}://${authority}${basePath}` };
}
