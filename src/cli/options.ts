/**
 * Option groups shared by several commands, defined once so that their names, help and defaults
 * cannot drift apart: how to reach Prometheus, and how to reach a cluster with kubectl.
 * Typed commands keep their own option types; an action that reads a group's values widens its
 * options with PrometheusFlags / KubeFlags.
 */
import { Option } from '@commander-js/extra-typings';

export const prometheusAuthOptions = () => [
  new Option('--prometheus-token <token>', 'bearer token (or P99SLEUTH_PROMETHEUS_TOKEN)'),
  new Option('--prometheus-user <user>', 'basic-auth user (or P99SLEUTH_PROMETHEUS_USER; password: P99SLEUTH_PROMETHEUS_PASSWORD)'),
  new Option('--prometheus-password <password>', 'basic-auth password (prefer the environment variable)'),
  new Option('--prometheus-header <header...>', 'extra request header, e.g. "X-Scope-OrgID: team-a"'),
  new Option('--prometheus-ca <file>', 'PEM CA bundle for an https Prometheus'),
  new Option('--insecure-skip-tls-verify', 'do not verify TLS certificates (Prometheus, profile store)').default(false),
  new Option('--prometheus-timeout <duration>', 'give up on a Prometheus request after this long').default('15s'),
];

export const kubeOptions = () => [
  new Option('-n, --namespace <namespace>', 'Kubernetes namespace (default: the context\'s, else "default")'),
  new Option('--context <context>', 'kubeconfig context'),
  new Option('--kubeconfig <file>', 'kubeconfig file'),
  new Option('--kubectl <path>', 'the kubectl binary (or KUBECTL; default kubectl on PATH)'),
];

/** Add a group of options to a command (after its own, in help). */
export function withOptions<C extends { addOption(o: never): unknown }>(cmd: C, options: Array<Option<string, undefined, unknown, unknown, boolean, undefined>>): C {
  for (const o of options) (cmd.addOption as (o: unknown) => unknown).call(cmd, o);
  return cmd;
}
