/**
 * In-process stand-ins for the stores, speaking the vendored protos for real: a grpc-js server (Parca's
 * QueryService, or Pyroscope's QuerierService over gRPC) and a node:http Connect handler (Pyroscope).
 * Each records the requests it decoded and their headers; handlers answer objects, raw bytes or errors.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { load, type MethodDefinition } from '@grpc/proto-loader';
import { PROTO_DIR, PARCA_QUERY, PYROSCOPE_QUERIER } from '../../../src/sources/profilestore/protos.js';

export interface Call {
  method: string;
  request: Record<string, unknown>;
  headers: Record<string, string>;
}

/** An error a handler throws: a gRPC/Connect code name, a message, and (Connect) the HTTP status. */
export class StoreFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly httpStatus = 500,
  ) {
    super(message);
  }
}

/** A handler answers a decoded request with a message object or raw bytes (already encoded). */
export type Handler = (req: Record<string, unknown>, headers: Record<string, string>) => unknown | Promise<unknown>;

const LOAD = { includeDirs: [PROTO_DIR], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };

async function service(name: string): Promise<Record<string, MethodDefinition<object, object>>> {
  const file = name === PARCA_QUERY ? 'parca/query/v1alpha1/query.proto' : 'querier/v1/querier.proto';
  return (await load(file, LOAD))[name] as unknown as Record<string, MethodDefinition<object, object>>;
}

export interface TestServer {
  port: number;
  calls: Call[];
  close(): Promise<void>;
}

const GRPC_STATUS: Record<string, grpc.status> = {
  unauthenticated: grpc.status.UNAUTHENTICATED,
  permission_denied: grpc.status.PERMISSION_DENIED,
  not_found: grpc.status.NOT_FOUND,
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  unavailable: grpc.status.UNAVAILABLE,
  internal: grpc.status.INTERNAL,
};

/** A gRPC server for `serviceName` on 127.0.0.1, port 0; TLS when `tls` holds a key and certificate. */
export async function startGrpc(serviceName: string, handlers: Record<string, Handler>, tls?: { key: Buffer; cert: Buffer }): Promise<TestServer> {
  const svc = await service(serviceName);
  const calls: Call[] = [];
  const server = new grpc.Server();
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(handlers)) {
    impl[name] = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(call.metadata.getMap())) headers[k] = String(v);
      calls.push({ method: name, request: call.request, headers });
      Promise.resolve()
        .then(() => handler(call.request, headers))
        .then(
          (res) => cb(null, res),
          (err: unknown) => cb({ code: err instanceof StoreFailure ? GRPC_STATUS[err.code] ?? grpc.status.UNKNOWN : grpc.status.INTERNAL, details: (err as Error).message }),
        );
    };
  }
  // Raw-byte answers (pprof) go out as they are; objects through the proto codec.
  const definition = Object.fromEntries(
    Object.entries(svc).map(([name, m]) => [name, { ...m, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : m.responseSerialize(v as object)) }]),
  ) as unknown as grpc.ServiceDefinition;
  server.addService(definition, impl);
  const creds = tls ? grpc.ServerCredentials.createSsl(null, [{ private_key: tls.key, cert_chain: tls.cert }]) : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
  return { port, calls, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

/** A Connect (HTTP/1.1, application/proto) handler for Pyroscope's QuerierService on 127.0.0.1, port 0. */
export async function startConnect(handlers: Record<string, Handler>, prefix = ''): Promise<TestServer> {
  const svc = await service(PYROSCOPE_QUERIER);
  const calls: Call[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = new RegExp(`^${prefix}/${PYROSCOPE_QUERIER.replace(/\./g, '\\.')}/(\\w+)$`).exec(req.url ?? '');
      const def = m ? svc[m[1]] : undefined;
      const handler = m ? handlers[m[1]] : undefined;
      // Code 'plain' stands for a proxy in front of the store that answers text, not Connect JSON.
      const fail = (status: number, code: string, message: string) => {
        res.writeHead(status, { 'content-type': code === 'plain' ? 'text/plain' : 'application/json' });
        res.end(code === 'plain' ? message : JSON.stringify({ code, message }));
      };
      if (!def || !handler || req.method !== 'POST') return fail(404, 'unimplemented', `no such method ${req.url}`);
      if (req.headers['content-type'] !== 'application/proto') return fail(415, 'invalid_argument', 'want application/proto');
      const request = def.requestDeserialize(Buffer.concat(chunks)) as Record<string, unknown>;
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      calls.push({ method: m![1], request, headers });
      Promise.resolve()
        .then(() => handler(request, headers))
        .then(
          (out) => {
            res.writeHead(200, { 'content-type': 'application/proto' });
            res.end(Buffer.isBuffer(out) ? out : def.responseSerialize(out as object));
          },
          (err: unknown) => (err instanceof StoreFailure ? fail(err.httpStatus, err.code, err.message) : fail(500, 'internal', (err as Error).message)),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    calls,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
