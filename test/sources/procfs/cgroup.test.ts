import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { formatCgroupInfo, parseCgroupInfo, parseMountinfo, parseProcCgroup, planCgroup } from '../../../src/sources/procfs/cgroup.js';
import { readProcfs, type FileReader } from '../../../src/sources/procfs/capture.js';
import { SleuthError } from '../../../src/errors.js';
import { ROOT } from '../../helpers.js';
import { loadSnapshot } from './snapshot.js';

// /proc/self/mountinfo lines as this lab VM prints them (hybrid: separate v1 hierarchies + empty v2).
const LAB_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
// A cgroup v2 node (systemd, unified only) and a v1 Docker host with co-mounted cpu,cpuacct.
const V2_MOUNTINFO = '30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';
const COMOUNT_MOUNTINFO = '28 22 0:25 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:9 - cgroup cgroup rw,cpu,cpuacct\n29 22 0:26 / /sys/fs/cgroup/memory rw shared:10 - cgroup cgroup rw,memory\n';

test('/proc/PID/cgroup of the throttle fixture: v1 controllers and the hybrid v2 path', async () => {
  const s = await loadSnapshot(path.join(ROOT, 'fixtures/procfs/cfs-throttle-v1/before'));
  const m = parseProcCgroup(s['pid/cgroup']);
  assert.deepEqual(m, {
    v1: {
      cpu: { path: '/p99sleuth-fixture', hierarchy: 'cpu' },
      cpuacct: { path: '/p99sleuth-fixture', hierarchy: 'cpuacct' },
      memory: { path: '/process_api/ebfa7c6f12eefff60da5bfc288838fe5/p99sleuth-fixture', hierarchy: 'memory' },
    },
    v2: '/',
  });
  const plan = planCgroup(m, parseMountinfo(LAB_MOUNTINFO));
  assert.equal(formatCgroupInfo(plan!), s['cgroup/_info'], 'the fixture _info is what the plan writes');
  assert.deepEqual(parseCgroupInfo(s['cgroup/_info']), plan);
});

test('mountinfo: only cgroup mounts, octal escapes decoded, optional fields skipped', () => {
  const m = parseMountinfo(`${V2_MOUNTINFO}40 30 0:40 /a\\040b /mnt/my\\040cg rw - cgroup2 cgroup2 rw\n50 1 8:1 / / rw - ext4 /dev/sda1 rw\n`);
  assert.deepEqual(m.map((x) => [x.root, x.mountPoint, x.fstype]), [['/', '/sys/fs/cgroup', 'cgroup2'], ['/a b', '/mnt/my cg', 'cgroup2']]);
});

test('plan: v2 node, co-mounted cpu,cpuacct, a namespaced mount root, and paths outside the namespace', () => {
  const pod = '/kubepods.slice/pod1.slice/cri-containerd-ab.scope';
  assert.deepEqual(planCgroup(parseProcCgroup(`0::${pod}\n`), parseMountinfo(V2_MOUNTINFO)), {
    version: 2, slots: { unified: { path: pod, dir: `/sys/fs/cgroup${pod}` } }, notes: [],
  });
  const co = planCgroup(parseProcCgroup('4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n'), parseMountinfo(COMOUNT_MOUNTINFO));
  assert.equal(co?.slots.cpu?.dir, '/sys/fs/cgroup/cpu,cpuacct/docker/abc');
  assert.equal(co?.slots.cpuacct?.dir, '/sys/fs/cgroup/cpu,cpuacct/docker/abc');
  // Inside a container without a cgroup namespace the mount root is the container's own cgroup.
  const inside = planCgroup(parseProcCgroup('0::/docker/abc\n'), parseMountinfo('30 22 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n'));
  assert.equal(inside?.slots.unified?.dir, '/sys/fs/cgroup');
  const outside = planCgroup(parseProcCgroup('0::/../../kubepods/x\n'), parseMountinfo(V2_MOUNTINFO));
  assert.deepEqual(outside?.slots, {});
  assert.match(outside!.notes[0], /outside this cgroup namespace/);
  const unmounted = planCgroup(parseProcCgroup('0::/other\n'), parseMountinfo('30 22 0:26 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n'));
  assert.match(unmounted!.notes[0], /no mounted cgroup2 hierarchy contains \/other/);
  assert.equal(planCgroup(parseProcCgroup('1:name=systemd:/\n'), []), undefined);
});

test('plan without mountinfo (cgroupRoot given): the usual layout under the root', () => {
  const v1 = planCgroup(parseProcCgroup('3:cpu,cpuacct:/a\n2:memory:/a\n0::/\n'), undefined, '/host/cgroup/');
  assert.deepEqual(v1?.slots, { cpu: { path: '/a', dir: '/host/cgroup/cpu,cpuacct/a' }, cpuacct: { path: '/a', dir: '/host/cgroup/cpu,cpuacct/a' }, memory: { path: '/a', dir: '/host/cgroup/memory/a' }, unified: { path: '/', dir: '/host/cgroup/unified' } });
  assert.equal(planCgroup(parseProcCgroup('0::/x.slice\n'), undefined)?.slots.unified?.dir, '/sys/fs/cgroup/x.slice');
});

test('malformed pid/cgroup and _info are input errors naming the file', () => {
  assert.throws(() => parseProcCgroup('garbage'), (e: unknown) => e instanceof SleuthError && e.message.startsWith('pid/cgroup: '));
  assert.throws(() => parseCgroupInfo('cpu\t/\t/sys/fs/cgroup/cpu\n'), (e: unknown) => e instanceof SleuthError && /cgroup\/_info: no "version"/.test(e.message));
});

/** An in-memory FileReader standing in for a remote node. */
function memReader(files: Record<string, string>): FileReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    read: async (p) => (reads.push(p), files[p]),
    list: async (d) => [...new Set(Object.keys(files).filter((f) => f.startsWith(`${d}/`)).map((f) => f.slice(d.length + 1).split('/')[0]))],
  };
}

test('readProcfs through a reader: a v2 node with its host /proc mounted at /host/proc', async () => {
  const cg = '/sys/fs/cgroup/kubepods.slice/p.scope';
  const r = memReader({
    '/host/proc/self/mountinfo': V2_MOUNTINFO,
    '/host/proc/42/cgroup': '0::/kubepods.slice/p.scope\n',
    '/host/proc/stat': 'cpu 1 2 3 4 5 6 7 8 0 0\n',
    '/host/proc/42/task/42/schedstat': '1 2 3\n',
    '/host/proc/42/task/43/schedstat': '4 5 6\n',
    '/host/proc/42/task/evil/schedstat': '7 8 9\n',
    [`${cg}/cpu.max`]: 'max 100000\n',
    [`${cg}/memory.events`]: 'oom 0\n',
  });
  const out = await readProcfs(42, r, { procRoot: '/host/proc/' });
  assert.deepEqual(Object.keys(out).sort(), ['cgroup/_info', 'cgroup/cpu.max', 'cgroup/memory.events', 'pid/cgroup', 'proc/stat', 'task/42/schedstat', 'task/43/schedstat']);
  assert.equal(out['cgroup/_info'], `version\t2\nunified\t/kubepods.slice/p.scope\t${cg}\n`);
  assert.ok(r.reads.includes(`${cg}/cpu.stat`) && r.reads.includes(`${cg}/io.pressure`), 'v2 files were asked for');
  assert.ok(!r.reads.some((p) => p.includes('cfs_quota')), 'no v1 files on a v2 node');
  assert.ok(!r.reads.some((p) => p.includes('evil')), 'non-numeric task entries are not read');
});

test('readProcfs with cgroupRoot: mountinfo is not read; a hybrid at the unified root reads no unified files', async () => {
  const r = memReader({ '/proc/7/cgroup': '3:cpu,cpuacct:/a\n2:memory:/a\n0::/\n', '/x/cpu,cpuacct/a/cpu.stat': 'nr_periods 1\n' });
  const out = await readProcfs(7, r, { cgroupRoot: '/x' });
  assert.equal(out['cgroup/cpu.stat'], 'nr_periods 1\n');
  assert.ok(!r.reads.some((p) => p.endsWith('mountinfo')));
  assert.ok(!r.reads.some((p) => p.startsWith('/x/unified')), 'the unified root only repeats /proc/pressure');
  const r2 = memReader({ '/proc/7/cgroup': '3:cpu:/a\n0::/svc\n', '/x/unified/svc/cpu.pressure': 'some avg10=0.00 avg60=0.00 avg300=0.00 total=1\n' });
  assert.ok('cgroup/cpu.pressure' in (await readProcfs(7, r2, { cgroupRoot: '/x' })));
});

test('readProcfs: an unparsable /proc/PID/cgroup loses the cgroup, not the snapshot', async () => {
  const out = await readProcfs(9, memReader({ '/proc/9/cgroup': 'garbage\n', '/proc/stat': 'cpu 1 2 3 4 5 6 7 8\n' }));
  assert.deepEqual(Object.keys(out).sort(), ['pid/cgroup', 'proc/stat']);
});
