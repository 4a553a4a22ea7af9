/** The kubectl-style flags shared by investigate, doctor and cleanup → a Kubectl and a namespace. */
import { Kubectl } from '../target/kubernetes/kubectl.js';
import { containerName, imageRef, namespaceName, portNumber } from '../target/kubernetes/names.js';
import { urlPath } from './validate.js';

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
    /** -n, else the context's namespace (as kubectl itself would choose), else "default". */
    namespace: async (): Promise<string> => {
      if (ns) return ns;
      const r = await kubectl.run(['config', 'view', '--minify', '--output', 'jsonpath={..namespace}'], { timeoutMs: 15_000, okExitCodes: [1] }).catch(() => undefined);
      const fromContext = r?.exitCode === 0 ? r.stdout.trim() : '';
      return fromContext ? namespaceName(fromContext) : 'default';
    },
  };
}

/** The flags of a Kubernetes capture (investigate and watch), validated. */
export interface KubeCaptureFlags extends KubeFlags {
  pprofPort: string;
  pprofPath: string;
  nodePod: boolean;
  agentImage: string;
  agentNamespace?: string;
}

/** Everything captureKubernetes needs from the flags except the target and the pod count. */
export async function kubeCaptureOptions(f: KubeCaptureFlags) {
  const k = kubeFlags(f);
  const pprofPort = portNumber(f.pprofPort, '--pprof-port');
  const pprofPath = urlPath(f.pprofPath, '--pprof-path');
  const agentImage = imageRef(f.agentImage);
  const agentNamespace = f.agentNamespace === undefined ? undefined : namespaceName(f.agentNamespace);
  return { kubectl: k.kubectl, namespace: await k.namespace(), container: k.container, pprofPort, pprofPath, nodePod: f.nodePod, agentImage, agentNamespace };
}
