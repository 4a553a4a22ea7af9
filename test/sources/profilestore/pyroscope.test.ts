import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { captureStoredProfiles } from '../../../src/sources/profilestore/capture.js';
import { PYROSCOPE_QUERIER } from '../../../src/sources/profilestore/protos.js';
import { profileStoreFromFlags, type ProfileStoreFlags } from '../../../src/sources/profilestore/store.js';
import { parsePprof } from '../../../src/sources/pprof/parse.js';
import { tmpDir } from '../../helpers.js';
import { WINDOWS, byName, fixtureTotal, ms, plain, roundTrip } from './fixture.js';
import { StoreFailure, sleep, startConnect, startGrpc, type Handler, type TestServer } from './servers.js';

/** The types a Go service pushes to Pyroscope (grafana/pyroscope-go with godeltaprof). */
const TYPES = [
  'process_cpu:cpu:nanoseconds:cpu:nanoseconds',
  'process_cpu:samples:count:cpu:nanoseconds',
  'memory:alloc_space:bytes:space:bytes',
  'memory:inuse_space:bytes:space:bytes',
  'goroutines:goroutine:count:goroutine:count',
  'mutex:delay:nanoseconds:contentions:count',
  'block:delay:nanoseconds:contentions:count',
].map((ID) => {
  const [name, sample_type, sample_unit, period_type, period_unit] = ID.split(':');
  return { ID, name, sample_type, sample_unit, period_type, period_unit };
});

const FILE: Record<string, string> = { process_cpu: 'cpu', goroutines: 'goroutine-0', mutex: 'mutex', block: 'block', 'memory:alloc_space': 'allocs', 'memory:inuse_space': 'heap' };
const fileFor = (id: string) => FILE[id.split(':')[0]] ?? FILE[id.split(':').slice(0, 2).join(':')];

type MergeReq = { profile_typeID: string; label_selector: string; start: number; end: number };

const handlers = (over: Partial<Record<string, Handler>> = {}): Record<string, Handler> => ({
  ProfileTypes: () => ({ profile_types: TYPES }),
  // Pyroscope answers a plain (not gzipped) google.v1.Profile.
  SelectMergeProfile: (r) => {
    const q = r as unknown as MergeReq;
    return plain(q.start >= ms(WINDOWS.spike.start) ? 'spike' : 'baseline', fileFor(q.profile_typeID));
  },
  Series: () => ({ labels_set: [{ labels: [{ name: 'service_name', value: 'checkout' }] }] }),
  // 6 profiles in the window, each totalling 50 on average.
  SelectSeries: (r) => ({ series: [{ points: [{ value: r.aggregation === 'TIME_SERIES_AGGREGATION_TYPE_AVERAGE' ? 50 : 300, timestamp: 0 }] }] }),
  ...over,
});

const store = (url: string, extra: Partial<ProfileStoreFlags> = {}) =>
  profileStoreFromFlags({ profilesFrom: url, profilesSelector: '{service_name="checkout"}', profilesTimeout: '5s', ...extra }, {})!.store;
const SEL = '{service_name="checkout"}';
const ALL = ['cpu', 'goroutine', 'mutex', 'block', 'heap', 'allocs'] as const;

async function checkBundle(srv: TestServer, url: string) {
  const s = store(url, { profilesUser: 'grafana-123', profilesPassword: 'glc_secret', profilesTenant: 'tenant-7' });
  const { dir, collectors, ev } = await roundTrip((w) => captureStoredProfiles(s, { selector: SEL, windows: WINDOWS, kinds: [...ALL] }, w));
  for (const window of ['baseline', 'spike'] as const) {
    for (const kind of ALL) assert.equal(byName(collectors, `pprof.${kind}`, window).status, 'ok', `${kind} ${window}`);
  }
  assert.equal(ev.spike.profiles.allocs!.seconds, 300);
  assert.equal(ev.baseline!.profiles.mutex!.seconds, 600);
  assert.equal(ev.spike.profiles.block!.folded.total, fixtureTotal('spike', 'block', 'delay'));
  // 300 / 50 = 6 profiles over 1 series.
  assert.equal(byName(collectors, 'pprof.goroutine', 'spike').meta?.snapshots, 6);
  const g = ev.spike.profiles.goroutine!;
  assert.ok(Math.abs(g.folded.total - fixtureTotal('spike', 'goroutine-0', 'goroutine') / 6) <= g.folded.stacks.length);
  const cpu = parsePprof(await readFile(path.join(dir, 'pprof/baseline/cpu.pb.gz')), 'cpu');
  assert.equal(cpu.durationNanos, 600e9);

  const merges = srv.calls.filter((c) => c.method === 'SelectMergeProfile');
  assert.equal(merges.length, 12);
  const cpuSpike = merges.map((c) => c.request as unknown as MergeReq).find((q) => q.profile_typeID.startsWith('process_cpu') && q.start === ms(WINDOWS.spike.start))!;
  assert.deepEqual(cpuSpike, { ...cpuSpike, profile_typeID: 'process_cpu:cpu:nanoseconds:cpu:nanoseconds', label_selector: SEL, end: ms(WINDOWS.spike.end) });
  const series = srv.calls.find((c) => c.method === 'Series')!;
  assert.deepEqual(series.request.matchers, ['{service_name="checkout",__profile_type__="goroutines:goroutine:count:goroutine:count"}']);
  for (const c of srv.calls) {
    assert.equal(c.headers.authorization, `Basic ${Buffer.from('grafana-123:glc_secret').toString('base64')}`);
    assert.equal(c.headers['x-scope-orgid'], 'tenant-7');
  }
  const manifest = await readFile(path.join(dir, 'manifest.json'), 'utf8');
  assert.ok(!manifest.includes('glc_secret') && !manifest.includes(Buffer.from('grafana-123:glc_secret').toString('base64')));
}

describe('Pyroscope over Connect (HTTP/1.1, application/proto)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startConnect(handlers());
  });
  after(() => srv.close());

  it('fetches merged profiles of both windows with the tenant and basic auth', async () => {
    await checkBundle(srv, `pyroscope://127.0.0.1:${srv.port}`);
    const h = srv.calls[0].headers;
    assert.equal(h['content-type'], 'application/proto');
    assert.equal(h['connect-protocol-version'], '1');
    assert.equal(h['connect-timeout-ms'], '5000');
  });

  it('reaches a store under a path prefix', async () => {
    const prefixed = await startConnect(handlers(), '/pyroscope');
    try {
      const { collectors } = await roundTrip((w) => captureStoredProfiles(store(`pyroscope://127.0.0.1:${prefixed.port}/pyroscope/`), { selector: SEL, windows: WINDOWS, kinds: ['cpu'] }, w));
      assert.equal(byName(collectors, 'pprof.cpu', 'spike').status, 'ok');
    } finally {
      await prefixed.close();
    }
  });

  it('fetches only the windows asked for (the baseline, when the spike is captured live)', async () => {
    const before = srv.calls.length;
    const { collectors } = await roundTrip((w) => captureStoredProfiles(store(`pyroscope://127.0.0.1:${srv.port}`), { selector: SEL, windows: { baseline: WINDOWS.baseline }, kinds: ['cpu', 'block'] }, w));
    assert.deepEqual(collectors.map((c) => `${c.name} ${c.window} ${c.status}`).sort(), ['pprof.block baseline ok', 'pprof.cpu baseline ok']);
    const merges = srv.calls.slice(before).filter((c) => c.method === 'SelectMergeProfile');
    assert.ok(merges.every((c) => c.request.start === ms(WINDOWS.baseline.start)));
  });
});

describe('Pyroscope over gRPC (pyroscope+grpc://)', () => {
  it('the same capture through a real gRPC server', async () => {
    const srv = await startGrpc(PYROSCOPE_QUERIER, handlers());
    try {
      await checkBundle(srv, `pyroscope+grpc://127.0.0.1:${srv.port}`);
    } finally {
      await srv.close();
    }
  });
});

describe('Pyroscope over TLS (pyroscopes://)', () => {
  it('verifies the server against --profiles-ca', async () => {
    const dir = await tmpDir();
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    const srv = await startGrpc(PYROSCOPE_QUERIER, handlers(), { key: await readFile(key), cert: await readFile(cert) });
    try {
      const ok = await roundTrip((w) => captureStoredProfiles(store(`pyroscopes+grpc://127.0.0.1:${srv.port}`, { profilesCa: cert }), { selector: SEL, windows: WINDOWS, kinds: ['cpu'] }, w));
      assert.equal(byName(ok.collectors, 'pprof.cpu', 'spike').status, 'ok');
      // Without the CA the certificate is not trusted.
      const bad = await roundTrip((w) => captureStoredProfiles(store(`pyroscopes+grpc://127.0.0.1:${srv.port}`), { selector: SEL, windows: WINDOWS, kinds: ['cpu'] }, w));
      assert.equal(byName(bad.collectors, 'pprof.cpu', 'spike').status, 'failed');
      assert.match(byName(bad.collectors, 'pprof.cpu', 'spike').message!, /QuerierService\/ProfileTypes: unavailable/);
    } finally {
      await srv.close();
    }
  });
});

describe('Pyroscope failures over Connect', () => {
  const run = async (over: Partial<Record<string, Handler>>, extra: Partial<ProfileStoreFlags> = {}, kinds: Array<(typeof ALL)[number]> = ['cpu']) => {
    const srv = await startConnect(handlers(over));
    try {
      return await roundTrip((w) => captureStoredProfiles(store(`pyroscope://127.0.0.1:${srv.port}`, extra), { selector: SEL, windows: WINDOWS, kinds }, w));
    } finally {
      await srv.close();
    }
  };

  it('unavailable', async () => {
    const gone = await startConnect(handlers());
    await gone.close();
    const { collectors } = await roundTrip((w) => captureStoredProfiles(store(`pyroscope://127.0.0.1:${gone.port}`), { selector: SEL, windows: WINDOWS, kinds: ['cpu'] }, w));
    assert.match(byName(collectors, 'pprof.cpu', 'spike').message!, new RegExp(`^pyroscope://127\\.0\\.0\\.1:${gone.port}: QuerierService/ProfileTypes: unavailable \\(connect ECONNREFUSED.*Pyroscope's HTTP port \\(4040 by default\\).*pyroscopes://`));
  });

  it('deadline', async () => {
    const { collectors } = await run({ SelectMergeProfile: async () => (await sleep(1500), plain('spike', 'cpu')) }, { profilesTimeout: '300ms' });
    assert.match(byName(collectors, 'pprof.cpu', 'spike').message!, /QuerierService\/SelectMergeProfile: no answer within 0\.3 s — raise --profiles-timeout \(now 0\.3 s\)/);
  });

  it('unauthenticated, as Connect JSON and as a proxy\'s bare 401', async () => {
    const connect = await run({ ProfileTypes: () => { throw new StoreFailure('unauthenticated', 'invalid credentials', 401); } }, { profilesToken: 'tok-xyz-1' });
    assert.match(byName(connect.collectors, 'pprof.cpu', 'spike').message!, /ProfileTypes: unauthenticated \(HTTP 401: invalid credentials\) — the store refused the credentials given: check --profiles-token/);
    const proxy = await run({ ProfileTypes: () => { throw new StoreFailure('plain', 'Unauthorized', 401); } });
    assert.match(byName(proxy.collectors, 'pprof.cpu', 'spike').message!, /ProfileTypes: unauthenticated \(HTTP 401: Unauthorized\) — the store wants credentials: pass --profiles-token \(or P99SLEUTH_PROFILES_TOKEN\), or --profiles-user/);
  });

  it('empty result: says the selector and window matched nothing and lists the types', async () => {
    const { collectors } = await run({ SelectMergeProfile: () => ({ }) as unknown as Buffer });
    const c = byName(collectors, 'pprof.cpu', 'baseline');
    assert.equal(c.status, 'failed');
    assert.match(c.message!, /process_cpu:cpu:nanoseconds:cpu:nanoseconds\{service_name="checkout"\}: no profiles between 2026-11-20T09:30:00\.000Z and 2026-11-20T09:40:00\.000Z — check --profiles-selector.*types it holds: block:delay:nanoseconds:contentions:count, goroutines/);
  });

  it('wrong type: the store holds no such kind, or answers another type', async () => {
    const none = await run({ ProfileTypes: () => ({ profile_types: TYPES.filter((t) => t.name !== 'block') }) }, {}, ['block']);
    assert.equal(byName(none.collectors, 'pprof.block', 'spike').status, 'not-enabled');
    assert.match(byName(none.collectors, 'pprof.block', 'spike').message!, /holds no block profiles \(its types: goroutines:goroutine/);
    const wrong = await run({ SelectMergeProfile: () => plain('spike', 'heap') }, {}, ['mutex']);
    assert.match(byName(wrong.collectors, 'pprof.mutex', 'spike').message!, /answered a profile of alloc_objects, alloc_space, inuse_objects, inuse_space, not delay/);
  });

  it('an answer that is not a profile is an input error naming the call', async () => {
    const { collectors } = await run({ SelectMergeProfile: () => Buffer.from('<html>login</html>') });
    assert.match(byName(collectors, 'pprof.cpu', 'spike').message!, /not a pprof profile/);
  });
});
