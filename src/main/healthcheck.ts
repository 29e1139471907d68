/**
 * The container's HEALTHCHECK (`node dist/healthcheck.js`): one image runs `usher api` and `usher worker`, so it is
 * healthy when either answers from inside the container: the API's /healthz on PORT, or the worker's /healthz on its
 * metrics listener (WORKER_METRICS_PORT, which the image sets; it answers 200 while the worker runs). Exit 0 or 1.
 */
import { loadConfig } from './config';

const local = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host);

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(3_000) })).ok;
  } catch {
    return false;
  }
}

async function main(): Promise<boolean> {
  const config = loadConfig();
  const urls = [`http://${local(config.host)}:${config.port}/healthz`];
  if (config.metrics.workerPort) urls.push(`http://${local(config.metrics.host)}:${config.metrics.workerPort}/healthz`);
  for (const url of urls) if (await answers(url)) return true;
  return false;
}

main().then(
  (healthy) => process.exit(healthy ? 0 : 1),
  () => process.exit(1),
);
