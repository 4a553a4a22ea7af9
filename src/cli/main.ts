/**
 * Entry point: parse the command line, run one command, map errors to exit codes in one place.
 * main() sets process.exitCode and never calls process.exit, so output is always flushed.
 */
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

interface Global {
  color: boolean;
  debug: boolean;
  quiet: boolean;
}

const EXIT_HELP = `
Exit codes:
  0    report written (no cause, or a cause without --exit-code)
  1    a cause was found and --exit-code was given
  2    usage error (bad flag or argument)
  3    unusable input (bundle, manifest, profile or response)
  4    a source could not be reached; nothing could be evaluated
  5    output could not be written
  70   internal error (a bug: please report it with --debug output)
  130  interrupted (a partial bundle is kept and marked)`;

function useColor(g: Global): boolean {
  // chalk 5 ignores NO_COLOR; honour it (https://no-color.org) and --no-color ourselves.
  if (!g.color || process.env.NO_COLOR) return false;
  if (process.env.FORCE_COLOR) return true;
  return process.stdout.isTTY === true;
}

const formatOption = () => new Option('--format <format>', 'report format').choices(FORMATS).default('text' as Format);

export function buildProgram(): Command {
  const program = new Command()
    .name('p99sleuth')
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

  program
    .command('investigate')
    .description('capture live evidence from a Go service during a spike, then analyse it like `analyze`')
    .argument('[target...]', 'Kubernetes target (deploy/NAME, pod/NAME; not in this version) — or use --local --pid')
    .option('--local', 'investigate a process on this machine', false)
    // kubectl-style target options, accepted so the "not in this version" answer is the one users see.
    .option('-n, --namespace <namespace>', 'Kubernetes namespace (Kubernetes targets: not in this version)')
    .option('--context <context>', 'kubeconfig context (Kubernetes targets: not in this version)')
    .option('--kubeconfig <file>', 'kubeconfig file (Kubernetes targets: not in this version)')
    .option('-c, --container <name>', 'container in the pod (Kubernetes targets: not in this version)')
    .option('--pid <pid>', 'the Go process to investigate (with --local)')
    .option('--pprof <url>', 'its net/http/pprof base URL (default: found on the ports the process listens on)')
    .option('--prometheus <url>', 'Prometheus-compatible HTTP API for spike finding and Go runtime series')
    .option('--prometheus-token <token>', 'bearer token (or P99SLEUTH_PROMETHEUS_TOKEN)')
    .option('--prometheus-user <user>', 'basic-auth user (or P99SLEUTH_PROMETHEUS_USER; password: P99SLEUTH_PROMETHEUS_PASSWORD)')
    .option('--prometheus-password <password>', 'basic-auth password (prefer the environment variable)')
    .option('--prometheus-header <header...>', 'extra request header, e.g. "X-Scope-OrgID: team-a"')
    .option('--prometheus-ca <file>', 'PEM CA bundle for an https Prometheus')
    .option('--insecure-skip-tls-verify', 'do not verify Prometheus TLS certificates', false)
    .option('--prometheus-timeout <duration>', 'give up on a Prometheus request after this long', '15s')
    .option('--selector <selector>', 'PromQL label matchers for the service, e.g. \'{job="checkout"}\' (default: the target scraping the pprof port)')
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
  p99sleuth investigate --local --pid $(pgrep -f checkout) --prometheus http://127.0.0.1:9090
  p99sleuth investigate --local --pid 4242 --pprof http://127.0.0.1:6060/debug/pprof --duration 30s
  p99sleuth investigate --local --pid 4242 --prometheus https://prom.example --selector '{job="checkout"}' --format json

Ctrl-C stops the collectors, keeps the partial bundle (marked), analyses it and exits 130.`)
    .action(async (target, o) => {
      const g = global();
      await investigate(target, o, { ...g, useColor: useColor(g) });
    });

  return program;
}

async function writeOut(file: string, data: string): Promise<void> {
  await writeFile(file, data, { mode: 0o600 }).catch((err: Error) => {
    throw new SleuthError('io', `cannot write ${file}: ${err.message}`, 'choose a writable output path');
  });
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
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
