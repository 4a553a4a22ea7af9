/** Reading a service's own /metrics page (when there is no Prometheus): one GET, bounded in time and size. */
import { SleuthError } from '../../errors.js';
import { httpRequest } from '../../util/http.js';
import { redactUrl } from '../../util/redact.js';

/** The exposition text at `url`; anything but HTTP 200 is `unavailable`. */
export async function fetchMetrics(url: string, signal?: AbortSignal, timeoutMs = 5000): Promise<string> {
  const res = await httpRequest(url, { timeoutMs, signal, maxBytes: 64 << 20, headers: { accept: 'text/plain;version=0.0.4' } });
  if (res.status !== 200) throw new SleuthError('unavailable', `${redactUrl(url)}: HTTP ${res.status}`, 'check --metrics (the service\'s Prometheus endpoint)');
  return res.body.toString('utf8');
}
