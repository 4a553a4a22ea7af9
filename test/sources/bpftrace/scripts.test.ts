import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MAX_PID, SCRIPTS, SCRIPT_NAMES, missingProbes, scriptArgs, scriptFile, scriptInvocation, validPath, type ScriptName } from '../../../src/sources/bpftrace/scripts.js';
import { parseBpftrace } from '../../../src/sources/bpftrace/parse.js';
import { SleuthError } from '../../../src/errors.js';
import { ROOT } from '../../helpers.js';

const source = (n: ScriptName) => readFileSync(scriptFile(n), 'utf8');
/** The script without comments, so that the rules below judge code only. */
const code = (n: ScriptName) => source(n).replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

test('every .bt file in scripts/bpftrace is catalogued, and every catalogued script ships there', () => {
  const dir = path.join(ROOT, 'scripts', 'bpftrace');
  for (const n of SCRIPT_NAMES) {
    assert.equal(scriptFile(n), path.join(dir, `${n}.bt`));
    assert.ok(existsSync(scriptFile(n)), n);
  }
  const files = readFileSync(path.join(ROOT, 'package.json'), 'utf8');
  assert.match(files, /"scripts\/bpftrace"/, 'shipped in the npm package');
});

for (const n of SCRIPT_NAMES) {
  test(`${n}.bt: portable probes, ends itself, header documents its parameters and maps`, () => {
    const c = code(n);
    const header = source(n).slice(0, source(n).indexOf('*/'));
    // Tracepoints, profile and uprobes only; syntax both 0.17 and current releases accept.
    assert.doesNotMatch(c, /\b(kprobe|kretprobe|kfunc|kretfunc|fentry|fexit|uretprobe|ur):/);
    assert.doesNotMatch(c, /#include|args\.\w/);
    // One entry per delete in the 0.17 form: not `delete(@a[1], @b[2])` (gone in 0.22) nor `delete(@m, k)` (new).
    assert.doesNotMatch(c, /delete\(@\w*(\[[^\]]*\])?\s*,/);
    const secondsAt = SCRIPTS[n].params.indexOf('seconds') + 1;
    assert.match(c, new RegExp(`interval:s:\\$${secondsAt}\\s*\\{\\s*exit\\(\\);\\s*\\}`), 'ends itself after $seconds');
    const used = [...c.matchAll(/\$(\d+)/g)].map((m) => Number(m[1]));
    assert.equal(Math.max(...used), SCRIPTS[n].params.length, 'reads exactly its positional parameters');
    for (const m of SCRIPTS[n].maps) {
      assert.ok(header.includes(m), `header documents ${m}`);
      assert.match(c, new RegExp(`${m}(\\[|\\s*=)`), `assigns ${m}`);
    }
    for (let i = 1; i <= SCRIPTS[n].params.length; i++) assert.ok(header.includes(`$${i}`), `header documents $${i}`);
  });

  test(`${n}.bt: the catalogue's probe count matches what bpftrace 0.17 attached for the fixture`, () => {
    const out = parseBpftrace(readFileSync(path.join(ROOT, 'fixtures', 'bpftrace', `${n}.txt`), 'utf8'), n);
    const hasEnd = /^END\b/m.test(code(n));
    assert.equal(out.attachedProbes, SCRIPTS[n].probes + (hasEnd ? 1 : 0));
    assert.equal(missingProbes(n, out), undefined);
  });
}

test('scriptArgs: positional parameters in script order, as strings', () => {
  assert.deepEqual(scriptArgs('runqlat', { tgid: 1234, seconds: 5 }), ['1234', '5']);
  assert.deepEqual(scriptArgs('runqlat', { tgid: 0, seconds: 5 }), ['0', '5']);
  assert.deepEqual(scriptArgs('reclaim', { tgid: 0, seconds: 2 }), ['0', '2']);
  assert.deepEqual(scriptArgs('biolatency', { seconds: 10 }), ['10']);
  assert.deepEqual(scriptArgs('gc', { tgid: 77, seconds: 3 }), ['77', '3', '/proc/77/exe']);
  assert.deepEqual(scriptArgs('gc', { tgid: 77, seconds: 3, path: '/usr/local/bin/svc-v1.2_x+y' }), ['77', '3', '/usr/local/bin/svc-v1.2_x+y']);
  assert.deepEqual(scriptInvocation('oncpu', { tgid: 9, seconds: 2 }), { script: scriptFile('oncpu'), args: ['9', '2'], seconds: 2 });
});

test('scriptArgs rejects bad pids, durations and script names with a usage error', () => {
  const bad: Array<[ScriptName, Parameters<typeof scriptArgs>[1]]> = [
    ['offcpu', { tgid: 0, seconds: 5 }], // per-process only
    ['oncpu', { seconds: 5 }],
    ['runqlat', { tgid: -1, seconds: 5 }],
    ['runqlat', { tgid: 1.5, seconds: 5 }],
    ['runqlat', { tgid: NaN, seconds: 5 }],
    ['runqlat', { tgid: MAX_PID, seconds: 5 }],
    ['runqlat', { tgid: 1, seconds: 0 }],
    ['runqlat', { tgid: 1, seconds: 2.5 }],
    ['runqlat', { tgid: 1, seconds: 3601 }],
    ['biolatency', { seconds: -3 }],
    ['gc', { tgid: 0, seconds: 5 }],
    ['nope' as ScriptName, { seconds: 5 }],
  ];
  for (const [n, p] of bad) {
    assert.throws(() => scriptArgs(n, p), (e: unknown) => e instanceof SleuthError && e.kind === 'usage', `${n} ${JSON.stringify(p)}`);
  }
});

test('validPath accepts plain absolute paths and rejects what could change the attach point', () => {
  assert.equal(validPath('/proc/1/exe'), '/proc/1/exe');
  for (const p of ['proc/1/exe', '', '/a b', '/a:b', '/a,b', '/a*', '/a"b', "/a'b", '/a\nb', '/a/../etc/x', '/a$1', '/a;b', '/' + 'x'.repeat(4096)]) {
    assert.throws(() => validPath(p), (e: unknown) => e instanceof SleuthError && e.kind === 'usage', JSON.stringify(p));
    assert.throws(() => scriptArgs('gc', { tgid: 1, seconds: 1, path: p }), SleuthError);
  }
});

test('missingProbes flags gc.bt when 0.17 silently skipped its uprobes (stripped binary)', () => {
  // What bpftrace 0.17 printed for gc.bt against a Go binary built with -ldflags="-s -w".
  const stripped = parseBpftrace('Attaching 2 probes...\n\n\n@gc_starts: 0\n@stw_count: 0\n\n\n', 'gc');
  assert.match(missingProbes('gc', stripped) ?? '', /attached 2 of 4 probes.*symbol table/);
  assert.equal(missingProbes('gc', parseBpftrace('Attaching 5 probes...\n@gc_starts: 1\n', 'gc')), undefined);
  assert.equal(missingProbes('gc', parseBpftrace('Attaching 4 probes...\n', 'gc')), undefined, 'a newer bpftrace may not count END');
  assert.equal(missingProbes('runqlat', parseBpftrace('', 'x')), undefined, 'unknown count: no claim');
});
