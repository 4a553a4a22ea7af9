/** A configured profile store, and how the command line makes one (`profileStoreFromFlags`). */
import { readFileSync } from 'node:fs';
import { SleuthError, usageError } from '../../errors.js';
import { parseDuration } from '../../util/duration.js';
import { selectorBody } from '../prometheus/queries.js';
import { parseProfileStoreUrl, type StoreAddress } from './url.js';

export interface ProfileStore extends StoreAddress {
  /** Sent with every request (credentials, extra headers); never written to a bundle, message or log. */
  headers: Record<string, string>;
  /** Multi-tenant Pyroscope / Parca behind a gateway: sent as `X-Scope-OrgID`. */
  tenant?: string;
  /** PEM CA bundle for TLS. */
  ca?: Buffer;
  /** Skip TLS verification (self-signed test set-ups only). */
  insecure?: boolean;
  /** Per request. */
  timeoutMs: number;
}

/** The flags `investigate` takes for a profile store (see README "Profiles from Parca or Pyroscope"). */
export interface ProfileStoreFlags {
  profilesFrom?: string;
  profilesSelector?: string;
  profilesToken?: string;
  profilesUser?: string;
  profilesPassword?: string;
  profilesTenant?: string;
  profilesHeader?: string[];
  profilesCa?: string;
  profilesTimeout?: string;
  insecureSkipTlsVerify?: boolean;
  /** `--selector`, the fallback for `--profiles-selector`. */
  selector?: string;
}

export const DEFAULT_TIMEOUT = '30s';

/**
 * The store and label selector the flags describe, or undefined without `--profiles-from`. Usage
 * errors for anything malformed, before anything runs. Credentials also come from
 * P99SLEUTH_PROFILES_TOKEN / _USER / _PASSWORD, so they need not appear on the command line.
 */
export function profileStoreFromFlags(f: ProfileStoreFlags, env: NodeJS.ProcessEnv = process.env): { store: ProfileStore; selector: string } | undefined {
  if (f.profilesFrom === undefined) {
    const orphan = (['profilesSelector', 'profilesToken', 'profilesUser', 'profilesTenant', 'profilesCa'] as const).find((k) => f[k] !== undefined);
    if (orphan) throw usageError(`--${orphan.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --profiles-from`, 'e.g. --profiles-from pyroscope://pyroscope.monitoring:4040');
    return undefined;
  }
  const address = parseProfileStoreUrl(f.profilesFrom);
  const selector = (f.profilesSelector ?? f.selector ?? '').trim();
  const example = address.kind === 'parca' ? '{job="checkout"}' : '{service_name="checkout"}';
  if (!selector || selector === '{}') {
    // Merging every service in the store would describe none of them.
    throw usageError('--profiles-from needs --profiles-selector (or --selector): the labels of the service in the store', `e.g. --profiles-selector '${example}'`);
  }
  try {
    selectorBody(selector);
  } catch {
    throw usageError(`--profiles-selector ${JSON.stringify(selector)} is not a label selector`, `use label matchers, e.g. --profiles-selector '${example}'`);
  }

  const headers: Record<string, string> = {};
  for (const raw of f.profilesHeader ?? []) {
    const i = raw.indexOf(':');
    const name = raw.slice(0, i).trim();
    if (i <= 0 || !/^[A-Za-z0-9-]+$/.test(name)) throw usageError(`--profiles-header ${JSON.stringify(raw)} must be "Name: value"`);
    headers[name.toLowerCase()] = raw.slice(i + 1).trim();
  }
  const token = f.profilesToken ?? env.P99SLEUTH_PROFILES_TOKEN;
  const user = f.profilesUser ?? env.P99SLEUTH_PROFILES_USER;
  const password = f.profilesPassword ?? env.P99SLEUTH_PROFILES_PASSWORD;
  if (token && user) throw usageError('give either a bearer token or a user and password for the profile store, not both');
  if (password && !user) throw usageError('a profile store password needs --profiles-user (or P99SLEUTH_PROFILES_USER)');
  if (token) headers.authorization = `Bearer ${token}`;
  else if (user) headers.authorization = 'Basic ' + Buffer.from(`${user}:${password ?? ''}`).toString('base64');
  if (f.profilesCa && !address.tls) {
    throw usageError(`--profiles-ca is for TLS, but ${address.shown} is plaintext`, `use ${address.kind}s:// for a TLS store`);
  }
  let ca: Buffer | undefined;
  if (f.profilesCa) {
    try {
      ca = readFileSync(f.profilesCa);
    } catch (err) {
      throw new SleuthError('usage', `--profiles-ca ${f.profilesCa}: cannot read (${(err as Error).message})`);
    }
  }
  const tenant = f.profilesTenant?.trim() || undefined;
  const timeoutMs = parseDuration(f.profilesTimeout ?? DEFAULT_TIMEOUT, '--profiles-timeout', { min: 0.1, max: 600 }) * 1000;
  return { store: { ...address, headers, tenant, ca, insecure: f.insecureSkipTlsVerify, timeoutMs }, selector };
}
