/**
 * Outbound HTTP under a policy, for http-request (not a handler: the catalog skips files
 * starting with `_`). Every hop, redirects included, is checked against the policy on its
 * scheme, port, host name and the address actually connected to: the address is resolved
 * once, checked, and the connection goes to that address (no second lookup to rebind).
 *
 * The policy, read from the environment at every call (src/config/config.ts checks the same
 * settings at boot):
 *   JOBS_OUTBOUND_ALLOW    entries a hop must match (host name or address); empty: any
 *   JOBS_OUTBOUND_DENY     entries no hop may match, besides the built-in denial
 *   JOBS_OUTBOUND_PORTS    `*` or ports and ranges (`80,443,8000-8999`); default `*`
 *   JOBS_OUTBOUND_SCHEMES  of http and https; default both
 * An entry is an address, a CIDR block, a host name, `*.domain` (its subdomains) or a group:
 * loopback, private, link-local, metadata. Link-local and cloud metadata addresses and names,
 * unspecified, multicast and broadcast addresses are always denied.
 */
import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/** A hop the policy refuses; its message says why and is safe to show. */
export class PolicyError extends Error {}

interface Matcher {
  names: Set<string>;
  suffixes: string[];
  blocks: net.BlockList;
  /** What matched, by kind, for the reason given. */
  label: string;
}

export interface OutboundPolicy {
  schemes: Set<string>;
  /** null: any port. */
  ports: Array<[number, number]> | null;
  allow: Matcher | null;
  deny: Matcher;
  builtin: Matcher;
}

const groups: Record<string, Array<[string, number]>> = {
  loopback: [
    ['127.0.0.0', 8],
    ['::1', 128],
  ],
  private: [
    ['10.0.0.0', 8],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['100.64.0.0', 10],
    ['fc00::', 7],
  ],
  'link-local': [
    ['169.254.0.0', 16],
    ['fe80::', 10],
  ],
  metadata: [
    ['169.254.169.254', 32],
    ['169.254.170.2', 32],
    ['100.100.100.200', 32],
    ['fd00:ec2::254', 128],
  ],
};
const metadataNames = ['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal', 'metadata.azure.com'];
const alwaysDenied: Array<[string, number]> = [...groups['link-local'], ...groups.metadata, ['0.0.0.0', 8], ['::', 128], ['224.0.0.0', 4], ['255.255.255.255', 32], ['ff00::', 8]];

const HOST_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

function addBlock(list: net.BlockList, address: string, prefix: number) {
  list.addSubnet(address, prefix, net.isIPv6(address) ? 'ipv6' : 'ipv4');
}

/** Reads one list setting; throws naming the variable and the entry. */
function matcher(variable: string, raw: string | undefined, label: string): Matcher {
  const m: Matcher = { names: new Set(), suffixes: [], blocks: new net.BlockList(), label };
  for (const item of (raw ?? '').split(',')) {
    const entry = item.trim().toLowerCase().replace(/\.$/, '');
    if (!entry) continue;
    const slash = entry.indexOf('/');
    const address = slash < 0 ? entry : entry.slice(0, slash);
    if (groups[entry]) {
      for (const [a, p] of groups[entry]) addBlock(m.blocks, a, p);
      if (entry === 'metadata') for (const n of metadataNames) m.names.add(n);
    } else if (net.isIP(address)) {
      const max = net.isIPv6(address) ? 128 : 32;
      const prefix = slash < 0 ? max : Number(entry.slice(slash + 1));
      if (!/^\d{1,3}$/.test(slash < 0 ? String(max) : entry.slice(slash + 1)) || prefix > max) {
        throw new Error(`${variable}: '${item.trim()}' has a prefix length outside 0-${max}`);
      }
      addBlock(m.blocks, address, prefix);
    } else if (slash < 0 && HOST_NAME.test(entry)) {
      if (entry.startsWith('*.')) m.suffixes.push(entry.slice(1));
      else m.names.add(entry);
    } else {
      throw new Error(`${variable}: '${item.trim()}' is not an address, CIDR block, host name, *.domain or one of ${Object.keys(groups).join(', ')}`);
    }
  }
  return m;
}

function ports(raw: string | undefined): Array<[number, number]> | null {
  const text = raw?.trim() || '*';
  if (text === '*') return null;
  return text.split(',').map((item) => {
    const m = /^\s*(\d{1,5})(?:\s*-\s*(\d{1,5}))?\s*$/.exec(item);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m?.[2] ? Number(m[2]) : lo;
    if (!m || lo < 1 || hi > 65535 || lo > hi) throw new Error(`JOBS_OUTBOUND_PORTS: '${item.trim()}' is not a port or range within 1-65535 (or * for any)`);
    return [lo, hi];
  });
}

/** The policy from the environment; throws naming the setting when one is malformed. */
export function outboundPolicy(env: Record<string, string | undefined> = process.env): OutboundPolicy {
  const schemes = new Set(
    (env.JOBS_OUTBOUND_SCHEMES?.trim() || 'http,https')
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
  for (const s of schemes) if (s !== 'http' && s !== 'https') throw new Error(`JOBS_OUTBOUND_SCHEMES: '${s}' is not http or https`);
  const allow = env.JOBS_OUTBOUND_ALLOW?.trim() ? matcher('JOBS_OUTBOUND_ALLOW', env.JOBS_OUTBOUND_ALLOW, 'JOBS_OUTBOUND_ALLOW') : null;
  const builtin = matcher('', '', 'always denied');
  for (const [a, p] of alwaysDenied) addBlock(builtin.blocks, a, p);
  for (const n of metadataNames) builtin.names.add(n);
  return { schemes, ports: ports(env.JOBS_OUTBOUND_PORTS), allow, deny: matcher('JOBS_OUTBOUND_DENY', env.JOBS_OUTBOUND_DENY, 'JOBS_OUTBOUND_DENY'), builtin };
}

function nameMatches(m: Matcher, host: string): boolean {
  return m.names.has(host) || m.suffixes.some((s) => host.endsWith(s));
}

/** IPv4 inside IPv6 (mapped ::ffff:a.b.c.d, or NAT64 64:ff9b::a.b.c.d) is checked as IPv4. */
function normalAddress(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  if (net.isIPv6(a)) {
    const embedded = /^(?:::ffff:|64:ff9b::)(?:0:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
    const dotted = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(a);
    if (dotted) return { address: dotted[1], type: 'ipv4' };
    if (embedded) {
      const hi = parseInt(embedded[1], 16);
      const lo = parseInt(embedded[2], 16);
      return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, type: 'ipv4' };
    }
    return { address: a, type: 'ipv6' };
  }
  return { address: a, type: 'ipv4' };
}

function addressMatches(m: Matcher, address: string): boolean {
  const { address: a, type } = normalAddress(address);
  return m.blocks.check(a, type);
}

/** Why the policy refuses the URL itself (scheme, port, host name), or null. */
export function urlProblem(policy: OutboundPolicy, url: URL): string | null {
  const scheme = url.protocol.replace(/:$/, '');
  if (!policy.schemes.has(scheme)) return `scheme ${scheme} is not in JOBS_OUTBOUND_SCHEMES`;
  const port = Number(url.port || (scheme === 'https' ? 443 : 80));
  if (policy.ports && !policy.ports.some(([lo, hi]) => port >= lo && port <= hi)) return `port ${port} is not in JOBS_OUTBOUND_PORTS`;
  const host = url.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  if (nameMatches(policy.builtin, host)) return `host ${host} is a cloud metadata service (always denied)`;
  if (nameMatches(policy.deny, host)) return `host ${host} matches JOBS_OUTBOUND_DENY`;
  if (net.isIP(host)) return addressProblem(policy, host, host);
  return null;
}

/** Why the policy refuses connecting to `address` for `host`, or null. */
export function addressProblem(policy: OutboundPolicy, host: string, address: string): string | null {
  const to = host === address ? `address ${address}` : `${host} (${address})`;
  if (addressMatches(policy.builtin, address)) return `${to} is link-local, cloud metadata, unspecified or multicast (always denied)`;
  if (addressMatches(policy.deny, address)) return `${to} matches JOBS_OUTBOUND_DENY`;
  if (policy.allow && !nameMatches(policy.allow, host) && !addressMatches(policy.allow, address)) return `${to} is not in JOBS_OUTBOUND_ALLOW`;
  return null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** A dns lookup that hands the socket only addresses the policy allows. */
function checkedLookup(policy: OutboundPolicy) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback) => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const list = addresses as dns.LookupAddress[];
      const allowed = list.filter((a) => addressProblem(policy, hostname.toLowerCase().replace(/\.$/, ''), a.address) === null);
      if (allowed.length === 0) {
        const why = list.length ? addressProblem(policy, hostname.toLowerCase().replace(/\.$/, ''), list[0].address)! : `${hostname} has no address`;
        return callback(new PolicyError(why) as NodeJS.ErrnoException, '');
      }
      if (options.all) callback(null, allowed);
      else callback(null, allowed[0].address, allowed[0].family);
    });
  };
}

export interface OutboundRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  policy: OutboundPolicy;
  /** Body bytes read at most; the rest is not read (the connection is closed). */
  maxBytes: number;
  /** Body bytes kept for the caller (0: none). */
  keepBytes: number;
  maxRedirects: number;
}

export interface OutboundResponse {
  status: number;
  /** The URL of the last hop. */
  url: string;
  /** Body bytes read (at most maxBytes). */
  bytes: number;
  /** Whether the body went on past maxBytes. */
  cut: boolean;
  kept: Buffer;
  redirects: number;
}

/** The error every failure to get an HTTP answer gets, refused, reset, not HTTP or not resolved alike. */
export class NoAnswerError extends Error {}

const origin = (u: URL) => `${u.protocol}//${u.host}`;

/** One hop: resolves, checks, connects, sends; resolves with the response (its body not read). */
function hop(url: URL, req: OutboundRequest, headers: Record<string, string>, method: string, body: string | undefined): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const problem = urlProblem(req.policy, url);
    if (problem) return reject(new PolicyError(problem));
    const mod = url.protocol === 'https:' ? https : http;
    const outgoing = mod.request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method,
      // user:password in the URL, as Basic auth, to this hop only (a redirect's URL has its own).
      auth: url.username ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : undefined,
      headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      agent: false,
      lookup: checkedLookup(req.policy) as unknown as typeof dns.lookup,
    });
    const onAbort = () => outgoing.destroy(req.signal.reason instanceof Error ? req.signal.reason : new Error(String(req.signal.reason)));
    req.signal.addEventListener('abort', onAbort, { once: true });
    outgoing.on('response', (res) => {
      req.signal.removeEventListener('abort', onAbort);
      resolve(res);
    });
    outgoing.on('error', (err) => {
      req.signal.removeEventListener('abort', onAbort);
      if (err instanceof PolicyError || req.signal.aborted) reject(req.signal.aborted && !(err instanceof PolicyError) ? req.signal.reason : err);
      else reject(new NoAnswerError('could not connect, or the answer was not HTTP'));
    });
    if (req.signal.aborted) return onAbort();
    outgoing.end(body);
  });
}

/** Reads at most maxBytes of a body, keeping the first keepBytes; stops (and closes) past maxBytes. */
function readBody(res: http.IncomingMessage, req: OutboundRequest): Promise<{ bytes: number; cut: boolean; kept: Buffer }> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    const kept: Buffer[] = [];
    let keptBytes = 0;
    const onAbort = () => res.destroy();
    req.signal.addEventListener('abort', onAbort, { once: true });
    const done = (cut: boolean) => {
      req.signal.removeEventListener('abort', onAbort);
      resolve({ bytes, cut, kept: Buffer.concat(kept) });
    };
    res.on('data', (chunk: Buffer) => {
      const room = req.maxBytes - bytes;
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      bytes += part.length;
      if (keptBytes < req.keepBytes) {
        const k = part.subarray(0, req.keepBytes - keptBytes);
        kept.push(Buffer.from(k));
        keptBytes += k.length;
      }
      if (chunk.length > room) {
        res.destroy();
        done(true);
      }
    });
    res.on('end', () => done(false));
    res.on('error', (err) => {
      req.signal.removeEventListener('abort', onAbort);
      reject(req.signal.aborted ? req.signal.reason : new NoAnswerError(`the answer broke off (${err.message})`));
    });
    res.on('close', () => {
      if (req.signal.aborted) {
        req.signal.removeEventListener('abort', onAbort);
        reject(req.signal.reason);
      } else if (!res.complete && bytes < req.maxBytes) {
        reject(new NoAnswerError('the answer broke off'));
      }
    });
  });
}

/**
 * Sends the request and follows redirects by hand, each hop checked. A redirect to another
 * origin drops every header of the request, and is not followed when it would send the body
 * again (307, 308).
 */
export async function outboundRequest(req: OutboundRequest): Promise<OutboundResponse> {
  let url = new URL(req.url);
  let method = req.method;
  let body = req.body;
  let headers = { ...req.headers };
  for (let redirects = 0; ; redirects++) {
    const res = await hop(url, req, headers, method, body);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && status !== 304 && location !== undefined) {
      res.destroy();
      if (redirects >= req.maxRedirects) throw new PolicyError(`more than ${req.maxRedirects} redirects (JOBS_OUTBOUND_MAX_REDIRECTS)`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new NoAnswerError(`answered ${status} with a Location that is not a URL`);
      }
      const sameOrigin = origin(next) === origin(url);
      if ((status === 301 || status === 302) && method === 'POST') [method, body] = ['GET', undefined];
      if (status === 303 && method !== 'HEAD') [method, body] = ['GET', undefined];
      if (!sameOrigin) {
        if (body !== undefined) throw new PolicyError(`answered ${status}, a redirect to ${origin(next)} that would send the body to another origin; not followed`);
        headers = {};
      } else if (body === undefined) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !['content-type', 'content-length'].includes(k.toLowerCase())));
      }
      url = next;
      continue;
    }
    const { bytes, cut, kept } = await readBody(res, req);
    return { status, url: url.href, bytes, cut, kept, redirects };
  }
}
