/**
 * Validation of everything that becomes a kubectl argument. kubectl gets an argument array (no
 * shell), so the danger is not quoting but a value read as an option (`-n --all-namespaces`) or a
 * value that kubectl would interpret differently from what the user meant; each check is the
 * Kubernetes API's own naming rule, so a valid object name is never refused.
 */
import { usageError } from '../../errors.js';

// RFC 1123 subdomain (object names such as pods and deployments) and label (namespaces, containers).
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function objectName(value: string, what: string): string {
  if (value.length > 253 || !SUBDOMAIN.test(value)) {
    throw usageError(`${what} ${JSON.stringify(value)} is not a valid Kubernetes name`, 'names are lower-case letters, digits, "-" and "." (e.g. checkout-7d9f8b6c5-x2x4q)');
  }
  return value;
}

export function namespaceName(value: string): string {
  if (value.length > 63 || !LABEL.test(value)) throw usageError(`namespace ${JSON.stringify(value)} is not a valid Kubernetes namespace`, 'namespaces are lower-case letters, digits and "-"');
  return value;
}

export function containerName(value: string): string {
  if (value.length > 63 || !LABEL.test(value)) throw usageError(`container ${JSON.stringify(value)} is not a valid container name`, 'see `kubectl get pod POD -o jsonpath={.spec.containers[*].name}`');
  return value;
}

/** kubeconfig context names are free-form in kubeconfig files; only what could be read as an option is refused. */
export function contextName(value: string): string {
  if (!value || value.startsWith('-') || /[\0\n]/.test(value)) throw usageError(`--context ${JSON.stringify(value)} is not a context name`, 'see `kubectl config get-contexts`');
  return value;
}

// Label keys: optional DNS prefix + "/" + name; values: up to 63 of [A-Za-z0-9_.-].
const KEY = String.raw`(?:[a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const TERM = new RegExp(String.raw`^(?:!?${KEY}|${KEY}\s*(?:=|==|!=)\s*${VALUE}|${KEY}\s+(?:in|notin)\s+\(\s*${VALUE}(?:\s*,\s*${VALUE})*\s*\))$`);

/** A label selector in kubectl's syntax (`app=checkout,tier!=canary`, `env in (a,b)`, `!legacy`). */
export function labelSelector(value: string): string {
  const terms = splitTerms(value.trim());
  if (!terms.length || terms.some((t) => !TERM.test(t.trim()))) {
    throw usageError(`label selector ${JSON.stringify(value)} is not valid`, 'e.g. -l app=checkout or -l \'app=checkout,tier in (web,api)\'');
  }
  return terms.map((t) => t.trim()).join(',');
}

// Commas inside `in (…)` do not separate terms.
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** A TCP port number. */
export function portNumber(value: string | number, flag: string): number {
  const n = typeof value === 'number' ? value : /^\d{1,5}$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw usageError(`${flag} ${JSON.stringify(String(value))} is not a port number (1-65535)`);
  return n;
}

/** A container image reference: registry/name[:tag][@digest], nothing that could be an option. */
export function imageRef(value: string): string {
  if (!/^[a-z0-9][a-z0-9._\-/:]*(@sha256:[a-f0-9]{64})?$/i.test(value) || value.length > 512) {
    throw usageError(`--agent-image ${JSON.stringify(value)} is not an image reference`, 'e.g. quay.io/iovisor/bpftrace:v0.21.2');
  }
  return value;
}

/** A container ID as kubelet reports it (`containerd://<hex>`), split into runtime and ID. */
export function parseContainerId(value: string): { runtime: string; id: string } | undefined {
  const m = /^([a-z][a-z0-9-]*):\/\/([a-f0-9]{12,128})$/.exec(value);
  return m ? { runtime: m[1], id: m[2] } : undefined;
}
