/**
 * Unary calls to a profile store over gRPC (@grpc/grpc-js, loaded on first use) or the Connect
 * protocol (HTTP/1.1 POST of the binary message, `application/proto`; connectrpc.com/docs/protocol).
 * Every failure becomes an RpcError naming the store and the method, with a hint saying what to do.
 */
import http from 'node:http';
import https from 'node:https';
import { SleuthError, type ErrorKind } from '../../errors.js';
import type { Method } from './protos.js';
import type { ProfileStore } from './store.js';

/** Status codes shared by gRPC (by number) and Connect (by name). */
export type RpcCode =
  | 'canceled' | 'unknown' | 'invalid_argument' | 'deadline_exceeded' | 'not_found' | 'already_exists' | 'permission_denied'
  | 'resource_exhausted' | 'failed_precondition' | 'aborted' | 'out_of_range' | 'unimplemented' | 'internal' | 'unavailable'
  | 'data_loss' | 'unauthenticated';

/** gRPC status numbers 1..16 in order (0 is OK). */
const GRPC_CODES: RpcCode[] = ['canceled', 'unknown', 'invalid_argument', 'deadline_exceeded', 'not_found', 'already_exists', 'permission_denied', 'resource_exhausted', 'failed_precondition', 'aborted', 'out_of_range', 'unimplemented', 'internal', 'unavailable', 'data_loss', 'unauthenticated'];

/** A failed call; `code` lets callers treat "not found" as an empty result. */
export class RpcError extends SleuthError {
  constructor(
    readonly code: RpcCode,
    kind: ErrorKind,
    message: string,
    hint?: string,
  ) {
    super(kind, message, hint);
  }
}

export interface Rpc {
  /** One unary call; `decode` replaces the method's response decoder (e.g. to keep raw pprof bytes). */
  call<T>(m: Method, req: object, signal?: AbortSignal, decode?: (b: Buffer) => T): Promise<T>;
  close(): void;
}

/** `QueryService/Query` from `/parca.query.v1alpha1.QueryService/Query`. */
export const methodName = (path: string) => path.replace(/^\/(?:[\w]+\.)*/, '');

/** Headers of every request: the store's own (credentials) plus the tenant. */
function requestHeaders(s: ProfileStore): Record<string, string> {
  return s.tenant ? { ...s.headers, 'x-scope-orgid': s.tenant } : { ...s.headers };
}

export async function openRpc(store: ProfileStore): Promise<Rpc> {
  return store.protocol === 'grpc' ? openGrpc(store) : connectRpc(store);
}

async function openGrpc(store: ProfileStore): Promise<Rpc> {
  const grpc = await import('@grpc/grpc-js');
  const creds = store.tls
    ? grpc.credentials.createSsl(store.ca ?? null, null, null, store.insecure ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {})
    : grpc.credentials.createInsecure();
  // Merged profiles of busy services run to tens of MB; the default cap is 4 MB.
  const client = new grpc.Client(store.authority, creds, { 'grpc.max_receive_message_length': 512 << 20, 'grpc.primary_user_agent': 'p99sleuth' });
  return {
    call<T>(m: Method, req: object, signal?: AbortSignal, decode?: (b: Buffer) => T): Promise<T> {
      const name = methodName(m.path);
      return new Promise<T>((resolve, reject) => {
        if (signal?.aborted) return reject(new SleuthError('interrupted', `${store.shown}: interrupted`));
        const md = new grpc.Metadata();
        // Credentials travel as call metadata: grpc-js refuses call credentials on plaintext channels.
        for (const [k, v] of Object.entries(requestHeaders(store))) md.set(k.toLowerCase(), v);
        const deserialize = (decode ?? m.responseDeserialize) as (b: Buffer) => T;
        const call = client.makeUnaryRequest<object, T>(m.path, m.requestSerialize, deserialize, req, md, { deadline: Date.now() + store.timeoutMs }, (err, res) => {
          signal?.removeEventListener('abort', onAbort);
          if (!err) return resolve(res as T);
          if (signal?.aborted) return reject(new SleuthError('interrupted', `${store.shown}: interrupted`));
          reject(rpcError(store, name, GRPC_CODES[err.code - 1] ?? 'unknown', err.details));
        });
        const onAbort = () => call.cancel();
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    close: () => client.close(),
  };
}

const HTTP_CODES: Record<number, RpcCode> = { 400: 'invalid_argument', 401: 'unauthenticated', 403: 'permission_denied', 404: 'unimplemented', 408: 'deadline_exceeded', 429: 'unavailable', 502: 'unavailable', 503: 'unavailable', 504: 'unavailable' };
const MAX_BYTES = 512 << 20;

function connectRpc(store: ProfileStore): Rpc {
  const lib = store.tls ? https : http;
  const agent = new lib.Agent({ keepAlive: true, ...(store.tls ? { ca: store.ca, rejectUnauthorized: !store.insecure } : {}) });
  return {
    call<T>(m: Method, req: object, signal?: AbortSignal, decode?: (b: Buffer) => T): Promise<T> {
      const name = methodName(m.path);
      const url = `${store.tls ? 'https' : 'http'}://${store.authority}${store.basePath}${m.path}`;
      const body = m.requestSerialize(req);
      const headers = {
        'content-type': 'application/proto',
        'connect-protocol-version': '1',
        'connect-timeout-ms': String(store.timeoutMs),
        'user-agent': 'p99sleuth',
        ...requestHeaders(store),
        'content-length': String(body.length),
      };
      return new Promise<T>((resolve, reject) => {
        if (signal?.aborted) return reject(new SleuthError('interrupted', `${store.shown}: interrupted`));
        let settled = false;
        const finish = (err: Error | undefined, value?: T) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve(value as T);
        };
        const r = lib.request(url, { method: 'POST', headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BYTES) r.destroy(new Error(`answer larger than ${MAX_BYTES} bytes`));
            else chunks.push(c);
          });
          res.on('error', (err) => finish(rpcError(store, name, 'unavailable', err.message)));
          res.on('end', () => {
            const data = Buffer.concat(chunks);
            if (res.statusCode === 200) {
              try {
                finish(undefined, (decode ?? (m.responseDeserialize as (b: Buffer) => T))(data));
              } catch (err) {
                finish(new RpcError('data_loss', 'input', `${store.shown}: ${name}: the answer is not a ${name} response (${(err as Error).message})`, 'check that --profiles-from names the store\'s API port'));
              }
              return;
            }
            // Connect errors are JSON {code, message}; a proxy in front may answer anything.
            let code: RpcCode = HTTP_CODES[res.statusCode ?? 0] ?? 'unknown';
            let detail = data.subarray(0, 200).toString('utf8').trim();
            if (/json/.test(res.headers['content-type'] ?? '')) {
              try {
                const e = JSON.parse(data.toString('utf8')) as { code?: string; message?: string };
                if (e.code && GRPC_CODES.includes(e.code as RpcCode)) code = e.code as RpcCode;
                detail = e.message ?? '';
              } catch {
                // not JSON after all: keep the text
              }
            }
            finish(rpcError(store, name, code, `HTTP ${res.statusCode}${detail ? `: ${detail}` : ''}`));
          });
        });
        const timer = setTimeout(() => {
          finish(rpcError(store, name, 'deadline_exceeded', ''));
          r.destroy();
        }, store.timeoutMs);
        const onAbort = () => {
          finish(new SleuthError('interrupted', `${store.shown}: interrupted`));
          r.destroy();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        r.on('error', (err) => finish(rpcError(store, name, 'unavailable', err.message)));
        r.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

/** The error for a failed call: the store, the method, what happened, and the flag that fixes it. */
export function rpcError(store: ProfileStore, method: string, code: RpcCode, detail: string): RpcError {
  const seconds = Math.round(store.timeoutMs / 100) / 10;
  const words = code === 'deadline_exceeded' ? `no answer within ${seconds} s` : code.replace(/_/g, ' ');
  // grpc-js explains its own deadline at length (LB pick, remote address): the seconds say it all.
  const clean = code === 'deadline_exceeded' ? '' : scrub(detail, store).trim();
  const message = `${store.shown}: ${method}: ${words}${clean ? ` (${clean})` : ''}`;
  const auth = 'authorization' in store.headers;
  const hints: Partial<Record<RpcCode, string>> = {
    unavailable: store.kind === 'parca'
      ? `check the address in --profiles-from: Parca's gRPC port (7070 by default) must be reachable${store.tls ? '' : '; for TLS use parcas://'}`
      : `check the address in --profiles-from: Pyroscope's HTTP port (4040 by default) must be reachable${store.tls ? '' : '; for TLS use pyroscopes://'}`,
    deadline_exceeded: `raise --profiles-timeout (now ${seconds} s), or narrow --profiles-selector or the window`,
    unauthenticated: auth
      ? 'the store refused the credentials given: check --profiles-token or --profiles-user/P99SLEUTH_PROFILES_PASSWORD'
      : 'the store wants credentials: pass --profiles-token (or P99SLEUTH_PROFILES_TOKEN), or --profiles-user with P99SLEUTH_PROFILES_PASSWORD',
    permission_denied: `the credentials may not read this data: check their scope${store.tenant ? ' and --profiles-tenant' : ', and whether the store needs --profiles-tenant'}`,
    invalid_argument: 'the store rejected the query: check --profiles-selector (label matchers, e.g. {service_name="checkout"})',
    unimplemented: `${store.shown} does not serve ${method}: is it a ${store.kind === 'parca' ? 'Parca' : 'Pyroscope'} API${store.kind === 'pyroscope' && store.protocol === 'grpc' ? ' that speaks gRPC (try pyroscope:// for Connect)' : ''}?`,
  };
  const kind: ErrorKind = code === 'invalid_argument' ? 'usage' : code === 'data_loss' ? 'input' : 'unavailable';
  return new RpcError(code, kind, message, hints[code]);
}

/** A server may echo what it was sent; no credential reaches a message. */
function scrub(text: string, store: ProfileStore): string {
  let out = text;
  for (const v of Object.values(store.headers)) {
    for (const secret of [v, v.replace(/^(Bearer|Basic)\s+/i, '')]) if (secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}
