import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { captureStoredProfiles } from '../../../src/sources/profilestore/capture.js';
import { PARCA_QUERY } from '../../../src/sources/profilestore/protos.js';
import { profileStoreFromFlags, type ProfileStoreFlags } from '../../../src/sources/profilestore/store.js';
import { parsePprof } from '../../../src/sources/pprof/parse.js';
import { WINDOWS, byName, fixtureTotal, gz, ms, roundTrip } from './fixture.js';
import { StoreFailure, sleep, startGrpc, type Handler, type TestServer } from './servers.js';

/** Parca's default scrape config: only process_cpu is delta; block and mutex made delta here, allocs left cumulative. */
const TYPES = [
  ['process_cpu', 'samples', 'count', 'cpu', 'nanoseconds', true],
  ['process_cpu', 'cpu', 'nanoseconds', 'cpu', 'nanoseconds', true],
  ['memory', 'alloc_space', 'bytes', 'space', 'bytes', false],
  ['memory', 'inuse_space', 'bytes', 'space', 'bytes', false],
  ['goroutine', 'goroutine', 'count', 'goroutine', 'count', false],
  ['mutex', 'delay', 'nanoseconds', 'contentions', 'count', true],
  ['block', 'delay', 'nanoseconds', 'contentions', 'count', true],
].map(([name, sample_type, sample_unit, period_type, period_unit, delta]) => ({ name, sample_type, sample_unit, period_type, period_unit, delta }));

const FILE: Record<string, string> = { process_cpu: 'cpu', memory: 'heap', goroutine: 'goroutine-0', mutex: 'mutex', block: 'block' };

type Req = { merge: { query: string; start: { seconds: number }; end: { seconds: number } }; mode: string; report_type: string };

/** Answers each merge with the lab's real profile of that kind and window (told apart by start time). */
const handlers = (over: Partial<Record<string, Handler>> = {}): Record<string, Handler> => ({
  ProfileTypes: () => ({ types: TYPES }),
  Query: (r) => {
    const { merge } = r as unknown as Req;
    const window = merge.start.seconds * 1000 >= ms(WINDOWS.spike.start) ? 'spike' : 'baseline';
    return { pprof: gz(window, FILE[merge.query.split(':')[0]]) };
  },
  // Four goroutine/heap scrapes per series in each window, two series.
  QueryRange: () => ({ series: [{ samples: [{ count: 4 }] }, { samples: [{ count: 3 }, { count: 1 }] }] }),
  ...over,
});

const flags = (port: number, extra: Partial<ProfileStoreFlags> = {}) =>
  profileStoreFromFlags({ profilesFrom: `parca://127.0.0.1:${port}`, profilesSelector: '{job="checkout"}', profilesTimeout: '5s', ...extra }, {})!.store;

const ALL = ['cpu', 'goroutine', 'mutex', 'block', 'heap', 'allocs'] as const;

describe('Parca over gRPC', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startGrpc(PARCA_QUERY, handlers());
  });
  after(() => srv.close());

  it('fetches merged pprof for both windows and writes profiles the loader reads as captured ones', async () => {
    const store = flags(srv.port, { profilesToken: 'tok-parca-123', profilesTenant: 'team-a' });
    const { dir, collectors, ev } = await roundTrip((w) => captureStoredProfiles(store, { selector: '{job="checkout"}', windows: WINDOWS, kinds: [...ALL] }, w));

    for (const window of ['baseline', 'spike'] as const) {
      for (const kind of ['cpu', 'goroutine', 'mutex', 'block', 'heap'] as const) {
        const c = byName(collectors, `pprof.${kind}`, window);
        assert.equal(c.status, 'ok', `${kind} ${window}: ${c.message}`);
        assert.deepEqual(c.artifacts, [`pprof/${window}/${kind}.pb.gz`]);
      }
      // Parca keeps allocs cumulative by default: merging a window of it would be wrong, and the message says what to change.
      const allocs = byName(collectors, 'pprof.allocs', window);
      assert.equal(allocs.status, 'not-enabled');
      assert.match(allocs.message!, /memory:alloc_space:bytes:space:bytes.*cumulative.*delta: true/);
    }
    // Windows: 300 s spike, 600 s baseline; delta kinds carry it as their duration.
    assert.equal(ev.spike.profiles.cpu!.seconds, 300);
    assert.equal(ev.baseline!.profiles.block!.seconds, 600);
    const cpu = parsePprof(await readFile(path.join(dir, 'pprof/spike/cpu.pb.gz')), 'cpu');
    assert.equal(cpu.durationNanos, 300e9);
    assert.equal(cpu.timeNanos, ms(WINDOWS.spike.start) * 1e6);
    assert.equal(ev.spike.profiles.cpu!.folded.total, fixtureTotal('spike', 'cpu', 'cpu'));
    // Gauges: 8 profiles over 2 series → the merge is divided by 4 snapshots per series.
    const g = ev.spike.profiles.goroutine!;
    assert.equal(g.seconds, 0);
    assert.ok(Math.abs(g.folded.total - fixtureTotal('spike', 'goroutine-0', 'goroutine') / 4) <= g.folded.stacks.length, `goroutines ${g.folded.total}`);
    assert.equal(byName(collectors, 'pprof.goroutine', 'spike').meta?.snapshots, 4);

    // What Parca was asked.
    const queries = srv.calls.filter((c) => c.method === 'Query').map((c) => c.request as unknown as Req);
    assert.equal(queries.length, 10);
    for (const q of queries) {
      assert.equal(q.mode, 'MODE_MERGE');
      assert.equal(q.report_type, 'REPORT_TYPE_PPROF');
      assert.match(q.merge.query, /^[a-z_]+:[a-z_]+:[a-z]+:[a-z]+:[a-z]+(:delta)?\{job="checkout"\}$/);
    }
    const cpuSpike = queries.find((q) => q.merge.query.startsWith('process_cpu:') && q.merge.start.seconds * 1000 === ms(WINDOWS.spike.start))!;
    assert.equal(cpuSpike.merge.query, 'process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta{job="checkout"}', 'CPU nanoseconds are preferred to sample counts');
    assert.equal(cpuSpike.merge.end.seconds * 1000, ms(WINDOWS.spike.end));
    for (const c of srv.calls) {
      assert.equal(c.headers.authorization, 'Bearer tok-parca-123');
      assert.equal(c.headers['x-scope-orgid'], 'team-a');
    }
    // The credential is in no file of the bundle.
    const manifest = await readFile(path.join(dir, 'manifest.json'), 'utf8');
    assert.ok(!manifest.includes('tok-parca-123'));
    assert.match(manifest, /"store": "parca:\/\/127\.0\.0\.1:\d+"/);
  });
});

describe('Parca failures', () => {
  const run = async (over: Partial<Record<string, Handler>>, extra: Partial<ProfileStoreFlags> = {}, kinds: Array<(typeof ALL)[number]> = ['cpu']) => {
    const srv = await startGrpc(PARCA_QUERY, handlers(over));
    try {
      return await roundTrip((w) => captureStoredProfiles(flags(srv.port, extra), { selector: '{job="checkout"}', windows: WINDOWS, kinds }, w));
    } finally {
      await srv.close();
    }
  };

  it('unavailable: names the store, the call and the port to check', async () => {
    // A port that was just bound and released: nothing listens there.
    const gone = await startGrpc(PARCA_QUERY, handlers());
    await gone.close();
    const { collectors } = await roundTrip((w) => captureStoredProfiles(flags(gone.port), { selector: '{job="checkout"}', windows: WINDOWS, kinds: ['cpu', 'heap'] }, w));
    assert.equal(collectors.length, 4);
    for (const c of collectors) {
      assert.equal(c.status, 'failed');
      assert.match(c.message!, new RegExp(`^parca://127\\.0\\.0\\.1:${gone.port}: QueryService/ProfileTypes: unavailable .*--profiles-from.*7070`));
    }
  });

  it('deadline: says how long it waited and which flag raises it', async () => {
    const { collectors } = await run({ Query: async () => (await sleep(1500), { pprof: gz('spike', 'cpu') }) }, { profilesTimeout: '300ms' });
    const c = byName(collectors, 'pprof.cpu', 'spike');
    assert.equal(c.status, 'failed');
    assert.match(c.message!, /QueryService\/Query: no answer within 0\.3 s — raise --profiles-timeout \(now 0\.3 s\)/);
  });

  it('unauthenticated: names the credential flags, and never echoes the token', async () => {
    const { collectors } = await run({ ProfileTypes: () => { throw new StoreFailure('unauthenticated', 'bad token tok-wrong-999'); } }, { profilesToken: 'tok-wrong-999' });
    const c = byName(collectors, 'pprof.cpu', 'spike');
    assert.match(c.message!, /QueryService\/ProfileTypes: unauthenticated \(bad token \*\*\*\) — the store refused the credentials given: check --profiles-token/);
    assert.ok(!c.message!.includes('tok-wrong-999'));
    const none = await run({ ProfileTypes: () => { throw new StoreFailure('unauthenticated', 'missing bearer'); } });
    assert.match(byName(none.collectors, 'pprof.cpu', 'baseline').message!, /wants credentials: pass --profiles-token/);
  });

  it('empty result (NOT_FOUND or a profile without samples): the selector and window matched nothing; lists the types', async () => {
    const notFound = await run({ Query: () => { throw new StoreFailure('not_found', 'No data found for the query'); } });
    const c = byName(notFound.collectors, 'pprof.cpu', 'spike');
    assert.equal(c.status, 'failed');
    assert.match(c.message!, /process_cpu:cpu:nanoseconds:cpu:nanoseconds:delta\{job="checkout"\}: no profiles between 2026-11-20T10:00:00\.000Z and 2026-11-20T10:05:00\.000Z — check --profiles-selector .*types it holds: block:delay/);
    const mutexEmpty = await run({ Query: () => ({ pprof: gz('spike', 'mutex').subarray(0, 0) }) }, {}, ['mutex']);
    assert.match(byName(mutexEmpty.collectors, 'pprof.mutex', 'baseline').message!, /no profiles between/);
  });

  it('wrong type: a kind the store does not hold, and an answer of another type, both say which types exist', async () => {
    const noMutex = await run({ ProfileTypes: () => ({ types: TYPES.filter((t) => t.name !== 'mutex') }) }, {}, ['mutex']);
    const c = byName(noMutex.collectors, 'pprof.mutex', 'spike');
    assert.equal(c.status, 'not-enabled');
    assert.match(c.message!, /holds no mutex profiles \(its types: block:delay:nanoseconds:contentions:count:delta, goroutine/);
    const wrong = await run({ Query: () => ({ pprof: gz('spike', 'goroutine-0') }) });
    const w = byName(wrong.collectors, 'pprof.cpu', 'spike');
    assert.equal(w.status, 'failed');
    assert.match(w.message!, /answered a profile of goroutine, not cpu/);
  });

  it('a gzip-less pprof answer is accepted too', async () => {
    const { ev } = await run({ Query: () => ({ pprof: gunzipSync(gz('spike', 'cpu')) }) });
    assert.equal(ev.spike.profiles.cpu!.folded.total, fixtureTotal('spike', 'cpu', 'cpu'));
  });
});
