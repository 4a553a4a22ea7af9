/**
 * The vendored protos (proto/README.md), loaded on first use: @grpc/grpc-js and @grpc/proto-loader
 * are imported dynamically, so commands that never touch a profile store do not pay for them.
 */
import type { MethodDefinition, PackageDefinition } from '@grpc/proto-loader';
import { SleuthError } from '../../errors.js';
import { packagePath } from '../../util/paths.js';

export const PROTO_DIR = packagePath('src', 'sources', 'profilestore', 'proto');

export const PARCA_QUERY = 'parca.query.v1alpha1.QueryService';
export const PYROSCOPE_QUERIER = 'querier.v1.QuerierService';

const FILES: Record<string, string> = {
  [PARCA_QUERY]: 'parca/query/v1alpha1/query.proto',
  [PYROSCOPE_QUERIER]: 'querier/v1/querier.proto',
};

const loaded = new Map<string, Promise<PackageDefinition>>();

/** One method of a vendored service: its path (`/pkg.Service/Method`) and binary codec. */
export type Method = MethodDefinition<object, object>;

export async function serviceMethod(service: string, method: string): Promise<Method> {
  const file = FILES[service];
  if (!file) throw new SleuthError('internal', `no vendored proto for ${service}`);
  let def = loaded.get(file);
  if (!def) {
    const { load } = await import('@grpc/proto-loader');
    // keepCase: field names exactly as in the .proto; longs as numbers (ms timestamps, sample values
    // fit in 2^53); enums as names, so requests and tests read like the proto.
    def = load(file, { includeDirs: [PROTO_DIR], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
    loaded.set(file, def);
    def.catch(() => loaded.delete(file));
  }
  const svc = (await def.catch((err: unknown) => {
    throw new SleuthError('internal', `cannot load ${file} from ${PROTO_DIR}: ${(err as Error).message}`, 'reinstall p99sleuth: its vendored protos are missing or damaged');
  }))[service] as Record<string, Method> | undefined;
  const m = svc?.[method];
  if (!m) throw new SleuthError('internal', `${file} has no ${service}/${method}`);
  return m;
}
