/** The kubectl-style flags shared by investigate, doctor and cleanup → a Kubectl and a namespace. */
import { Kubectl } from '../target/kubernetes/kubectl.js';
import { containerName, namespaceName } from '../target/kubernetes/names.js';

export interface KubeFlags {
  namespace?: string;
  context?: string;
  kubeconfig?: string;
  container?: string;
  kubectl?: string;
}

export function kubeFlags(f: KubeFlags) {
  const kubectl = new Kubectl({ kubectl: f.kubectl ?? process.env.KUBECTL ?? 'kubectl', context: f.context, kubeconfig: f.kubeconfig });
  const ns = f.namespace === undefined ? undefined : namespaceName(f.namespace);
  return {
    kubectl,
    container: f.container === undefined ? undefined : containerName(f.container),
    validNamespace: namespaceName,
    /** -n, else the context's namespace (as kubectl itself would choose), else "default". */
    namespace: async (): Promise<string> => {
      if (ns) return ns;
      const r = await kubectl.run(['config', 'view', '--minify', '--output', 'jsonpath={..namespace}'], { timeoutMs: 15_000, okExitCodes: [1] }).catch(() => undefined);
      const fromContext = r?.exitCode === 0 ? r.stdout.trim() : '';
      return fromContext ? namespaceName(fromContext) : 'default';
    },
  };
}
