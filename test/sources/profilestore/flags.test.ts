import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SleuthError } from '../../../src/errors.js';
import { parseProfileStoreUrl } from '../../../src/sources/profilestore/url.js';
import { profileStoreFromFlags } from '../../../src/sources/profilestore/store.js';

const usage = (fn: () => unknown, message: RegExp, hint?: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof SleuthError && e.kind === 'usage' && message.test(e.message) && (!hint || hint.test(e.hint ?? '')));

describe('parseProfileStoreUrl', () => {
  const cases: Array<[string, object]> = [
    ['parca://parca.monitoring:7070', { kind: 'parca', protocol: 'grpc', tls: false, authority: 'parca.monitoring:7070', basePath: '' }],
    ['parca://parca', { authority: 'parca:7070' }],
    ['parcas://parca.example', { kind: 'parca', tls: true, authority: 'parca.example:443' }],
    ['pyroscope://127.0.0.1', { kind: 'pyroscope', protocol: 'connect', tls: false, authority: '127.0.0.1:4040' }],
    ['pyroscopes://profiles.grafana.net/prom/', { protocol: 'connect', tls: true, authority: 'profiles.grafana.net:443', basePath: '/prom', shown: 'pyroscopes://profiles.grafana.net:443/prom' }],
    ['pyroscope+grpc://[::1]:4040', { kind: 'pyroscope', protocol: 'grpc', authority: '[::1]:4040' }],
    ['PARCA://Parca:80', { authority: 'parca:80', shown: 'parca://parca:80' }],
  ];
  for (const [text, want] of cases) {
    it(text, () => {
      const got = parseProfileStoreUrl(text);
      assert.deepEqual({ ...got, ...want }, got);
    });
  }
  it('rejects what it cannot reach, with a hint naming the forms', () => {
    usage(() => parseProfileStoreUrl('http://pyroscope:4040'), /unknown scheme "http:\/\/"/, /name the store instead of the protocol: use parca:\/\/HOST:PORT or pyroscope/);
    usage(() => parseProfileStoreUrl('parca.monitoring:7070'), /is not a profile store address/, /parcas:\/\//);
    usage(() => parseProfileStoreUrl('parca://user:pw@parca:7070'), /credentials in the address are not accepted/, /--profiles-token/);
    usage(() => parseProfileStoreUrl('parca://parca:7070/api'), /a gRPC address has no path/);
    usage(() => parseProfileStoreUrl('pyroscope://p:4040?tenant=a'), /no query/);
    usage(() => parseProfileStoreUrl('pyroscope://p:99999'), /not a valid address/);
  });
});

describe('profileStoreFromFlags', () => {
  it('nothing without --profiles-from; its companions alone are a mistake', () => {
    assert.equal(profileStoreFromFlags({}, {}), undefined);
    usage(() => profileStoreFromFlags({ profilesTenant: 'a' }, {}), /--profiles-tenant needs --profiles-from/);
  });
  it('credentials go into headers: a token, or user and password, from flags or the environment', () => {
    const base = { profilesFrom: 'pyroscope://p:4040', profilesSelector: '{service_name="x"}' };
    assert.equal(profileStoreFromFlags({ ...base, profilesToken: 't1' }, {})!.store.headers.authorization, 'Bearer t1');
    assert.equal(profileStoreFromFlags(base, { P99SLEUTH_PROFILES_TOKEN: 't2' })!.store.headers.authorization, 'Bearer t2');
    const basic = profileStoreFromFlags({ ...base, profilesUser: 'u' }, { P99SLEUTH_PROFILES_PASSWORD: 'p' })!.store;
    assert.equal(basic.headers.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`);
    usage(() => profileStoreFromFlags({ ...base, profilesToken: 't', profilesUser: 'u' }, {}), /either a bearer token or a user/);
    const h = profileStoreFromFlags({ ...base, profilesHeader: ['X-Extra: 1'], profilesTenant: ' team-a ' }, {})!.store;
    assert.deepEqual(h.headers, { 'x-extra': '1' });
    assert.equal(h.tenant, 'team-a');
    usage(() => profileStoreFromFlags({ ...base, profilesHeader: ['nocolon'] }, {}), /must be "Name: value"/);
  });
  it('needs a selector: --profiles-selector, else --selector; validated', () => {
    usage(() => profileStoreFromFlags({ profilesFrom: 'parca://p' }, {}), /needs --profiles-selector/, /\{job="checkout"\}/);
    assert.equal(profileStoreFromFlags({ profilesFrom: 'parca://p', selector: '{job="a"}' }, {})!.selector, '{job="a"}');
    usage(() => profileStoreFromFlags({ profilesFrom: 'parca://p', profilesSelector: 'job=a' }, {}), /is not a label selector/);
  });
  it('timeout and TLS options', () => {
    const base = { profilesFrom: 'parca://p', profilesSelector: '{job="a"}' };
    assert.equal(profileStoreFromFlags(base, {})!.store.timeoutMs, 30_000);
    assert.equal(profileStoreFromFlags({ ...base, profilesTimeout: '2m' }, {})!.store.timeoutMs, 120_000);
    usage(() => profileStoreFromFlags({ ...base, profilesTimeout: 'soon' }, {}), /--profiles-timeout "soon" is not a duration/);
    usage(() => profileStoreFromFlags({ ...base, profilesCa: '/nonexistent' }, {}), /--profiles-ca is for TLS/, /parcas:\/\//);
    usage(() => profileStoreFromFlags({ ...base, profilesFrom: 'parcas://p', profilesCa: '/nonexistent/ca.pem' }, {}), /cannot read/);
  });
});

describe('start-up cost', () => {
  it('importing the module loads no gRPC code; opening a store does', async () => {
    // Each test file runs in its own process, and nothing above imports @grpc.
    const { createRequire } = await import('node:module');
    const cache = createRequire(import.meta.url).cache;
    const grpcModules = () => Object.keys(cache).filter((k) => k.includes(`${'@grpc'}/`)).length;
    const m = await import('../../../src/sources/profilestore/index.js');
    assert.equal(grpcModules(), 0);
    const store = m.profileStoreFromFlags({ profilesFrom: 'parca://127.0.0.1:1', profilesSelector: '{job="a"}' }, {})!.store;
    (await m.openStore(store)).close();
    assert.ok(grpcModules() > 0);
  });
});
