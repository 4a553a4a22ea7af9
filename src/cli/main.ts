/**
 * Entry point: parse the command line, run one command, map errors to exit codes in one place.
 * main() sets process.exitCode and never calls process.exit, so output is always flushed.
 */
import { kubeOptions, prometheusAuthOptions, withOptions } from './options.js';
import type { PrometheusFlags } from './prometheus-flags.js';
import type { KubeFlags } from './kube-flags.js';
import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SleuthError, describe } from '../errors.js';
import { makeLogger } from '../ui/log.js';
import { VERSION } from '../version.js';
import { packagePath } from '../util/paths.js';
import { EXIT, EXIT_FOR_ERROR } from './exit.js';
import { FORMATS, reportOnBundle, type Format } from './report-run.js';
import { parsePprof, sampleTypeIndex } from '../sources/pprof/parse.js';
import { diff, fold } from '../sources/pprof/fold.js';
import { renderFlameGraph, toFolded } from '../render/flamegraph/index.js';
import { investigate } from './investigate.js';
import { registerKubeCommands } from './kube-commands.js';
import { DEFAULT_AGENT_IMAGE } from '../target/kubernetes/nodepod.js';
import { registerCheck } from './check.js';
import { registerWatch } from './watch.js';

interface Global {
  color: boolean;
  debug: boolean;
  quiet: boolean;
}

const EXIT_HELP = `
Exit codes:
  0    report written (no cause, or a cause without --exit-code); check: the SLO holds
  1    a cause was found and --exit-code was given; check: the SLO is breached
  2    usage error (bad flag or argument)
  3    unusable input (bundle, manifest, profile or response)
  4    a source could not be reached; nothing could be evaluated (check: also no series or no requests)
  5    output could not be written (check: --junit, $GITHUB_STEP_SUMMARY)
  70   internal error (a bug: please report it with --debug output)
  130  interrupted (a partial bundle is kept and marked)`;

function useColor(g: Global): boolean {
  // chalk 5 ignores NO_COLOR; honour it (https://no-color.org) and --no-color ourselves.
  if (!g.color || process.env.NO_COLOR) return false;
  if (process.env.FORCE_COLOR) return true;
  return process.stdout.isTTY === true;
}

const formatOption = () => new Option('--format <format>', 'report format').choices(FORMATS).default('text' as Format);

export function buildProgram(name = 'p99sleuth'): Command {
  const program = new Command()
    .name(name)
    .description('Investigate P99 latency spikes in Go services: user-space block → kernel wait → hardware interrupt.')
    .version(VERSION)
    .option('--no-color', 'plain output (NO_COLOR is honoured too)')
    .option('--debug', 'show stack traces and debug logs on stderr', false)
    .option('-q, --quiet', 'no progress on stderr', false)
    .showHelpAfterError('(run with --help for usage)')
    // Commander's own messages ("error: unknown option …") carry our prefix like every other error.
    .configureOutput({ outputError: (str, write) => write(`p99sleuth: ${str}`) })
    .addHelpText('after', EXIT_HELP)
    .exitOverride();

  const global = () => program.opts() as Global;

  program
    .command('analyze')
    .description('analyse a saved evidence bundle: ranked causes, decision walk, flame graphs')
    .argument('<bundle>', 'bundle directory (contains manifest.json)')
    .addOption(formatOption())
    .option('--out <dir>', 'where flame graphs and report copies are written', 'p99sleuth-report')
    .option('--no-flamegraphs', 'do not write flame graphs')
    .option('--exit-code', 'exit 1 when a cause is found', false)
    .addHelpText('after', '\nExamples:\n  p99sleuth analyze ./bundle\n  p99sleuth analyze ./bundle --format json > report.json\n  p99sleuth analyze ./bundle --format markdown --out /tmp/graphs')
    .action(async (bundle, o) => {
      const g = global();
      const r = await reportOnBundle(bundle, { format: o.format, out: o.out, color: useColor(g), flamegraphs: o.flamegraphs }, makeLogger(g));
      if (o.exitCode && r.verdict === 'cause-found') process.exitCode = EXIT.causeFound;
    });

  program
    .command('demo')
    .description('analyse a real evidence bundle shipped with p99sleuth (no cluster, root or network needed)')
    .addOption(formatOption())
    .option('--out <dir>', 'where flame graphs and report copies are written', 'p99sleuth-demo')
    .addHelpText('after', '\nExamples:\n  npx p99sleuth demo\n  npx p99sleuth demo --format json --out /tmp/demo')
    .action(async (o) => {
      const g = global();
      await reportOnBundle(packagePath('fixtures', 'bundles', 'demo'), { format: o.format, out: o.out, color: useColor(g), flamegraphs: true }, makeLogger(g));
    });

  program
    .command('flame')
    .description('draw an interactive flame graph (SVG + .folded) from a pprof profile, or a differential one with --base')
    .argument('<profile>', 'pprof file (.pb or .pb.gz)')
    .option('--base <profile>', 'baseline profile: draw spike vs baseline, per second')
    .option('--sample-type <type>', 'sample type to draw (e.g. cpu, delay, alloc_space); default: the profile\'s default')
    .option('-o, --output <file>', 'SVG file to write (the .folded is written beside it)')
    .option('--title <title>', 'graph title')
    .addHelpText('after', '\nExamples:\n  p99sleuth flame cpu.pb.gz -o cpu.svg\n  p99sleuth flame spike-cpu.pb.gz --base calm-cpu.pb.gz -o diff.svg\n  p99sleuth flame block.pb.gz --sample-type delay')
    .action(async (file, o) => {
      const log = makeLogger(global());
      const load = async (f: string) => {
        const bytes = await readFile(f).catch((err: Error) => {
          throw new SleuthError('input', `${f}: cannot read (${err.message})`, 'pass the path of a pprof file');
        });
        return parsePprof(bytes, f);
      };
      const p = await load(file);
      const st = p.sampleTypes[sampleTypeIndex(p, o.sampleType)];
      const spike = fold(p, st.type);
      if (spike.total <= 0) throw new SleuthError('input', `${file}: the profile has no samples for sample type "${st.type}"`, 'capture a longer or busier profile, or pick another --sample-type');
      const out = o.output ?? path.basename(file).replace(/(\.pb)?(\.gz)?$/, '') + '.svg';
      let stacks = spike.stacks;
      let differential = false;
      if (o.base) {
        const b = await load(o.base);
        const base = fold(b, st.type);
        stacks = diff(spike, p.durationNanos / 1e9 || 1, base, b.durationNanos / 1e9 || 1);
        differential = true;
      }
      const title = o.title ?? `${st.type} — ${path.basename(file)}${o.base ? ` vs ${path.basename(o.base)}` : ''}`;
      const svg = renderFlameGraph({ title, unit: st.unit, sampleType: st.type, stacks, differential });
      const folded = out.replace(/\.svg$/, '') + '.folded';
      await writeOut(out, svg);
      await writeOut(folded, toFolded(spike.stacks));
      log.info(`wrote ${out} and ${folded}`);
      process.stdout.write(`${out}\n${folded}\n`);
    });

  const investigateCmd = program
    .command('investigate')
    .description('capture live evidence from a Go service during a spike (a Kubernetes workload, or a local process with --local), then analyse it like `analyze`')
    .argument('[target...]', 'Kubernetes target: deploy/NAME, pod/NAME, statefulset/NAME, daemonset/NAME (or -l SELECTOR)')
    .option('--local', 'investigate a process on this machine (with --pid)', false)
    .option('-l, --label-selector <selector>', 'investigate pods by label, e.g. app=checkout')
    .option('-c, --container <name>', 'container in the pod (default: the default-container annotation, else the first)')
    .option('--pods <n>', 'how many of the workload\'s pods to investigate, worst P99 first, concurrently', '1')
    .option('--pprof-port <port>', 'the container port serving net/http/pprof (reached with kubectl port-forward)', '6060')
    .option('--pprof-path <path>', 'the pprof path on that port', '/debug/pprof')
    .option('--no-node-pod', 'do not start the node pod: no procfs/cgroup or bpftrace evidence, only pprof and Prometheus')
    .option('--agent-image <image>', 'image of the node pod (needs bpftrace, sh, grep)', DEFAULT_AGENT_IMAGE)
    .option('--agent-namespace <namespace>', 'namespace for the node pod (default: the target\'s)')
    .option('--pid <pid>', 'the Go process to investigate (with --local)')
    .option('--pprof <url>', 'its net/http/pprof base URL (default: found on the ports the process listens on)')
    .option('--prometheus <url>', 'Prometheus-compatible HTTP API for spike finding and Go runtime series')
    .option('--selector <selector>', 'PromQL label matchers for the service, e.g. \'{job="checkout"}\' (default: the pod\'s namespace/pod labels, or locally the target scraping the pprof port)')
    .option('--profiles-from <url>', 'Parca or Pyroscope holding past profiles: parca://HOST:PORT, pyroscope://HOST:PORT (parcas://, pyroscopes:// for TLS; pyroscope+grpc:// for gRPC)')
    .option('--profiles-selector <selector>', 'the service\'s labels in the profile store, e.g. \'{service_name="checkout"}\' (default: --selector)')
    .option('--profiles-token <token>', 'bearer token for the profile store (or P99SLEUTH_PROFILES_TOKEN)')
    .option('--profiles-user <user>', 'basic-auth user for the profile store (or P99SLEUTH_PROFILES_USER; password: P99SLEUTH_PROFILES_PASSWORD)')
    .option('--profiles-password <password>', 'basic-auth password for the profile store (prefer the environment variable)')
    .option('--profiles-tenant <id>', 'profile store tenant, sent as X-Scope-OrgID')
    .option('--profiles-header <header...>', 'extra profile store request header, e.g. "X-Org: a"')
    .option('--profiles-ca <file>', 'PEM CA bundle for a TLS profile store')
    .option('--profiles-timeout <duration>', 'give up on a profile store request after this long', '30s')
    .option('--node-selector <selector>', 'PromQL label matchers for this machine\'s node_exporter, e.g. \'{instance="10.0.0.7:9100"}\' (default: the only node_exporter, or the one on loopback)')
    .option('--latency-metric <name>', 'latency histogram (default: first of http_request_duration_seconds, http_server_request_duration_seconds, grpc_server_handling_seconds)')
    .option('--since <duration>', 'how far back to look for the spike', '30m')
    .option('--duration <duration>', 'how long to capture profiles', '15s')
    .option('--profiles <kinds>', 'profiles to capture', 'cpu,goroutine,mutex,block,heap,allocs')
    .option('--no-bpf', 'do not run the bpftrace scripts (kernel evidence then comes from procfs, cgroups and Prometheus only)')
    .option('--bpftrace <path>', 'the bpftrace binary', 'bpftrace')
    .option('--out <dir>', 'bundle directory (default: p99sleuth-<process>-<time>); the report goes into <dir>/report')
    .addOption(formatOption())
    .option('--no-flamegraphs', 'do not write flame graphs')
    .option('--exit-code', 'exit 1 when a cause is found', false)
    .addHelpText('after', `
Examples:
  p99sleuth investigate deploy/checkout -n shop --prometheus http://prometheus.monitoring:9090
  p99sleuth investigate pod/checkout-7d9f8b6c5-x2x4q -n shop --duration 30s --no-node-pod
  p99sleuth investigate -l app=checkout -n shop --pods 3 --prometheus http://127.0.0.1:9090
  p99sleuth investigate --local --pid $(pgrep -f checkout) --prometheus http://127.0.0.1:9090
  p99sleuth investigate --local --pid 4242 --pprof http://127.0.0.1:6060/debug/pprof --duration 30s
  p99sleuth investigate --local --pid 4242 --prometheus https://prom.example --selector '{job="checkout"}' --format json

Kubernetes: pprof comes through kubectl port-forward; kernel evidence from a short-lived privileged
hostPID pod on the target's node (deleted when the command ends; see README "Kubernetes"). Nothing
else in the cluster is created or changed. Check access first with: p99sleuth doctor deploy/NAME -n NS

Ctrl-C stops the collectors, keeps the partial bundle (marked), analyses it and exits 130.`);
  withOptions(investigateCmd, [...kubeOptions(), ...prometheusAuthOptions()]).action(async (target, o) => {
    const g = global();
    await investigate(target, o as typeof o & PrometheusFlags & KubeFlags, { ...g, useColor: useColor(g) });
  });

  registerCheck(program, global);
  registerWatch(program, global);
  registerKubeCommands(program, global);
  return program;
}

async function writeOut(file: string, data: string): Promise<void> {
  await writeFile(file, data, { mode: 0o600 }).catch((err: Error) => {
    throw new SleuthError('io', `cannot write ${file}: ${err.message}`, 'choose a writable output path');
  });
}

export async function main(argv: string[], o: { name?: string } = {}): Promise<void> {
  const program = buildProgram(o.name);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = handleError(err, argv.includes('--debug'));
  }
}

function handleError(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // Commander already printed its message; help and version are successes.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
    return EXIT.usage;
  }
  const e = err instanceof SleuthError ? err : new SleuthError('internal', `internal error: ${describe(err)}`, 'please report this with the --debug output', { cause: err });
  process.stderr.write(`p99sleuth: error: ${e.message}\n`);
  if (e.hint) process.stderr.write(`p99sleuth: hint: ${e.hint}\n`);
  if (debug) process.stderr.write(`${(e.cause as Error | undefined)?.stack ?? e.stack}\n`);
  return EXIT_FOR_ERROR[e.kind];
}
