import { isDeepStrictEqual } from 'node:util';

/**
 * Send the same GETs to Placement and to Emplace and report every difference in status, JSON
 * body and the headers clients read (see normalise for what is not a difference). A
 * last-modified that Placement takes from "now" (nothing stored says otherwise) must be at least
 * `since` on both sides; one taken from stored rows must be equal.
 */
export interface ReadRequest {
  path: string;
  version: string;
}

export interface Difference {
  request: string;
  what: string;
  placement: unknown;
  emplace: unknown;
}

export interface Endpoint {
  url: string;
  /** X-Auth-Token to send (noauth2: "admin"; Keystone: a token from `openstack token issue`). */
  token: string;
}

interface Answer {
  status: number;
  headers: Record<string, string | null>;
  body: unknown;
}

const HEADERS = ['content-type', 'openstack-api-version', 'vary', 'cache-control', 'location'];
const CONCURRENCY = 4;
const REQUEST_TIMEOUT_MS = 30_000;

export async function compareReads(
  placement: Endpoint,
  emplace: Endpoint,
  requests: ReadRequest[],
  since: Date,
): Promise<Difference[]> {
  const differences: Difference[] = [];
  const queue = [...requests];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [theirs, ours] = await Promise.all([read(placement, next), read(emplace, next)]);
      differences.push(...diff(`GET ${next.path} @${next.version}`, theirs, ours, since));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return differences.sort((a, b) => a.request.localeCompare(b.request) || a.what.localeCompare(b.what));
}

async function read(endpoint: Endpoint, request: ReadRequest): Promise<Answer> {
  const res = await fetch(`${endpoint.url.replace(/\/$/, '')}${request.path}`, {
    headers: {
      'x-auth-token': endpoint.token,
      'openstack-api-version': `placement ${request.version}`,
      accept: 'application/json',
    },
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = normalise(JSON.parse(text));
  } catch {
    // not JSON: compared as text
  }
  const headers: Record<string, string | null> = {};
  for (const name of [...HEADERS, 'last-modified']) headers[name] = res.headers.get(name);
  return { status: res.status, headers, body };
}

/**
 * Request ids differ by nature. Placement lists providers, a provider's traits and its aggregates
 * without ORDER BY (placement/objects/resource_provider.py, trait.py): on MySQL they come in
 * primary-key order, on PostgreSQL in whatever order the heap has. Those lists are sets, compared sorted.
 */
function normalise(body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  if (Array.isArray(out.errors))
    out.errors = (out.errors as Array<Record<string, unknown>>).map(({ request_id: _requestId, ...rest }) => rest);
  for (const key of ['traits', 'aggregates'])
    if (Array.isArray(out[key])) out[key] = [...(out[key] as string[])].sort();
  if (Array.isArray(out.resource_providers))
    out.resource_providers = [...(out.resource_providers as Array<{ uuid: string }>)].sort((a, b) =>
      a.uuid.localeCompare(b.uuid),
    );
  return out;
}

function diff(request: string, placement: Answer, emplace: Answer, since: Date): Difference[] {
  const out: Difference[] = [];
  const add = (what: string, p: unknown, e: unknown) => out.push({ request, what, placement: p, emplace: e });
  if (placement.status !== emplace.status) add('status', placement.status, emplace.status);
  if (!isDeepStrictEqual(placement.body, emplace.body)) add('body', placement.body, emplace.body);
  for (const name of HEADERS)
    if (placement.headers[name] !== emplace.headers[name]) add(name, placement.headers[name], emplace.headers[name]);
  const [p, e] = [placement.headers['last-modified'], emplace.headers['last-modified']];
  // HTTP dates have whole seconds: "now" is at or after the start of the second `since` falls in.
  const floor = Math.floor(since.getTime() / 1000) * 1000;
  const isNow = (value: string | null) => value !== null && Date.parse(value) >= floor;
  if (p === null || e === null ? p !== e : isNow(p) ? !isNow(e) : p !== e) add('last-modified', p, e);
  return out;
}

/** Placement answered 500: a Placement fault, not an answer Emplace could match (reported apart). */
export function isPlacementFailure(difference: Difference, all: Difference[]): boolean {
  return all.some((d) => d.request === difference.request && d.what === 'status' && d.placement === 500);
}
