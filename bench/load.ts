/**
 * HTTP load in a process of its own (autocannon): reads a JSON array of specs from argv, runs
 * them one after the other and prints one JSON result per spec, one per line. Paths are drawn
 * at random from the spec's list for every request.
 */
import fs from 'node:fs';
import autocannon from 'autocannon';

interface Spec {
  url: string;
  connections: number;
  duration: number;
  method: 'GET' | 'POST';
  paths: string[];
  body?: string;
}

// A JSON array, or @FILE holding one.
const arg = process.argv[2];
const specs = JSON.parse(arg.startsWith('@') ? fs.readFileSync(arg.slice(1), 'utf8') : arg) as Spec[];
for (const spec of specs) {
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.duration,
    requests: [
      {
        method: spec.method,
        ...(spec.body ? { body: spec.body, headers: { 'content-type': 'application/json' } } : {}),
        setupRequest: (req) => ({ ...req, path: spec.paths[Math.floor(Math.random() * spec.paths.length)] }),
      },
    ],
  });
  const l = result.latency as unknown as Record<string, number>;
  console.log(
    JSON.stringify({
      rps: result.requests.average,
      total: result.requests.total,
      p50: l.p50,
      p99: l.p99,
      max: l.max,
      errors: result.errors,
      timeouts: result.timeouts,
      non2xx: result.non2xx,
    }),
  );
}
