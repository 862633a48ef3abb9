import { readFileSync } from 'node:fs';
import type { Schemas } from '../../api/types';
import { AuthUnavailableError, type TokenSource } from './auth';
import type { Logger } from './log';
import type { ConsumerAllocations, Inventories, ReportedProvider } from './model';
import { describeNetworkError, exchange, type HttpAnswer, type HttpExchange } from './transport';

export type { Logger } from './log';

/** Every request goes at this microversion: in_tree (1.14), reserved = total (1.26), consumer types (1.38). */
export const AGENT_MICROVERSION = '1.39';

export interface ClientOptions {
  url: string;
  tokens: TokenSource;
  /** Sent as X-Roles when not empty (noauth2). */
  roles?: string[];
  retries: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  timeoutMs: number;
  caFile?: string;
  logger?: Logger;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  send?: (ex: HttpExchange) => Promise<HttpAnswer>;
}

export interface ApiReply<T> {
  status: number;
  body: T;
  headers: Headers;
}

/** The service did not answer usefully (network error, 5xx, 429) even after retries. */
export class ServiceUnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** A 4xx the caller did not expect; `code` is Placement's error code (1.23+). */
export class PlacementError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    detail: string,
  ) {
    super(detail);
  }
}

/** Exponential backoff with full-range jitter in [delay/2, delay], capped. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const delay = Math.min(capMs, baseMs * 2 ** attempt);
  return Math.round(delay / 2 + (random() * delay) / 2);
}

/** Retry-After is seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

// 501 (an endpoint this service does not implement) will not get better by retrying.
const transient = (status: number) => (status >= 500 && status !== 501) || status === 429;

type ErrorBody = Schemas['ErrorBody'];

function firstError(body: unknown): ErrorBody['errors'][number] | undefined {
  const errors = (body as Partial<ErrorBody> | undefined)?.errors;
  return Array.isArray(errors) ? errors[0] : undefined;
}

export class PlacementClient {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly send: (ex: HttpExchange) => Promise<HttpAnswer>;
  private ca?: string;

  constructor(private readonly options: ClientOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.send = options.send ?? exchange;
  }

  /**
   * Any answer below 500 (except 429) is returned; transient failures are retried with backoff, then thrown.
   * A 401 invalidates the token and is retried once with a fresh one (a Keystone token may have been revoked).
   */
  async request<T>(method: string, path: string, body?: unknown): Promise<ApiReply<T>> {
    let lastError = '';
    let retryAfterMs: number | undefined;
    let reauthenticated = false;
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      if (attempt > 0) {
        const delay =
          retryAfterMs !== undefined
            ? Math.min(retryAfterMs, this.options.backoffCapMs)
            : backoffDelay(attempt - 1, this.options.backoffBaseMs, this.options.backoffCapMs, this.random);
        this.options.logger?.warn(
          { method, path, attempt, delayMs: delay, error: lastError },
          'placement unavailable, retrying',
        );
        await this.sleep(delay);
      }
      let reply: ApiReply<T>;
      try {
        reply = await this.once<T>(method, path, body);
      } catch (error) {
        // Keystone down is as transient as the service down; Keystone refusing is not, and goes up.
        if (!(error instanceof NetworkError || error instanceof AuthUnavailableError)) throw error;
        retryAfterMs = undefined;
        lastError = error.message;
        continue;
      }
      if (reply.status === 401 && !reauthenticated) {
        reauthenticated = true;
        this.options.tokens.invalidate();
        this.options.logger?.info({ method, path }, 'token refused (401): authenticating again');
        attempt--;
        continue;
      }
      if (!transient(reply.status)) return reply;
      retryAfterMs = parseRetryAfter(reply.headers.get('retry-after'));
      lastError = `HTTP ${reply.status}`;
    }
    throw new ServiceUnavailableError(`${method} ${path}: ${lastError}`, retryAfterMs);
  }

  private async once<T>(method: string, path: string, body?: unknown): Promise<ApiReply<T>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'openstack-api-version': `placement ${AGENT_MICROVERSION}`,
      'x-auth-token': await this.options.tokens.token(),
      'user-agent': 'emplace-agent',
    };
    if (this.options.roles?.length) headers['x-roles'] = this.options.roles.join(',');
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.options.caFile && this.ca === undefined) this.ca = readFileSync(this.options.caFile, 'utf8');
    let answer: HttpAnswer;
    try {
      answer = await this.send({
        method,
        url: this.options.url.replace(/\/+$/, '') + path,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs: this.options.timeoutMs,
        ca: this.ca,
      });
    } catch (error) {
      throw new NetworkError(describeNetworkError(error));
    }
    let parsed: unknown;
    try {
      parsed = answer.text ? JSON.parse(answer.text) : undefined;
    } catch {
      parsed = answer.text;
    }
    return { status: answer.status, body: parsed as T, headers: answer.headers };
  }

  /** Like request, but anything outside `ok` becomes a PlacementError carrying Placement's code. */
  async expect<T>(ok: number[], method: string, path: string, body?: unknown): Promise<ApiReply<T>> {
    const reply = await this.request<T>(method, path, body);
    if (ok.includes(reply.status)) return reply;
    const error = firstError(reply.body);
    throw new PlacementError(
      reply.status,
      error?.code,
      `${method} ${path}: ${reply.status} ${error?.detail ?? JSON.stringify(reply.body)}`,
    );
  }

  /**
   * Tell Emplace the host's reporter is alive (PUT /emplace/heartbeats/{root}: no body, no generation bump).
   * 'unsupported' when the service has no such route (OpenStack Placement answers 404), never thrown for that.
   */
  async heartbeat(rootUuid: string): Promise<'sent' | 'unsupported'> {
    const reply = await this.request('PUT', `/emplace/heartbeats/${rootUuid}`);
    if (reply.status === 204) return 'sent';
    if (reply.status === 404) return 'unsupported';
    throw new PlacementError(reply.status, firstError(reply.body)?.code, `PUT /emplace/heartbeats: ${reply.status}`);
  }

  async findProviderByName(name: string): Promise<Schemas['ResourceProvider'] | undefined> {
    const reply = await this.expect<Schemas['ResourceProviderList']>(
      [200],
      'GET',
      `/resource_providers?name=${encodeURIComponent(name)}`,
    );
    return reply.body.resource_providers[0];
  }

  /** The root and every provider in its tree, with inventories, traits and usages; undefined root when missing. */
  async readTree(rootUuid: string): Promise<{ root?: ReportedProvider; children: ReportedProvider[] }> {
    const path = `/resource_providers?in_tree=${rootUuid}`;
    const reply = await this.request<Schemas['ResourceProviderList']>('GET', path);
    // Placement answers 400 for an in_tree uuid it does not know (older) or an empty list (newer).
    if (reply.status === 400) return { children: [] };
    if (reply.status !== 200) await this.expect([200], 'GET', path);
    const providers: ReportedProvider[] = [];
    for (const rp of reply.body.resource_providers) providers.push(await this.readProvider(rp));
    return { root: providers.find((p) => p.uuid === rootUuid), children: providers.filter((p) => p.uuid !== rootUuid) };
  }

  async readProvider(rp: Schemas['ResourceProvider']): Promise<ReportedProvider> {
    const base = `/resource_providers/${rp.uuid}`;
    const [inventories, traits, usages] = await Promise.all([
      this.expect<Schemas['Inventories']>([200], 'GET', `${base}/inventories`),
      this.expect<Schemas['ProviderTraits']>([200], 'GET', `${base}/traits`),
      this.expect<Schemas['ProviderUsages']>([200], 'GET', `${base}/usages`),
    ]);
    // Take the lowest generation seen: inventories, traits and usages may race a writer, and a stale
    // generation only costs a 409 and a re-read.
    return {
      uuid: rp.uuid,
      name: rp.name,
      generation: Math.min(
        rp.generation,
        inventories.body.resource_provider_generation,
        traits.body.resource_provider_generation,
      ),
      parentUuid: rp.parent_provider_uuid ?? null,
      rootUuid: rp.root_provider_uuid ?? rp.uuid,
      inventories: inventories.body.inventories,
      traits: traits.body.traits,
      usages: usages.body.usages,
    };
  }

  /** A trait exists (GET /traits/{name}: 204) or not (404). */
  async traitExists(name: string): Promise<boolean> {
    const reply = await this.expect<undefined>([204, 404], 'GET', `/traits/${name}`);
    return reply.status === 204;
  }

  async createTrait(name: string): Promise<void> {
    await this.expect([201, 204], 'PUT', `/traits/${name}`);
  }

  /** Full allocations of every consumer holding `resourceClass` on the provider (for the reshaper). */
  async consumersOf(providerUuid: string, resourceClass: string): Promise<Record<string, ConsumerAllocations>> {
    const reply = await this.expect<Schemas['ProviderAllocations']>(
      [200],
      'GET',
      `/resource_providers/${providerUuid}/allocations`,
    );
    const result: Record<string, ConsumerAllocations> = {};
    for (const [consumer, entry] of Object.entries(reply.body.allocations)) {
      if (!entry.resources?.[resourceClass]) continue;
      const full = await this.expect<Schemas['ConsumerAllocations']>([200], 'GET', `/allocations/${consumer}`);
      result[consumer] = {
        allocations: Object.fromEntries(
          Object.entries(full.body.allocations).map(([rp, a]) => [rp, { resources: a.resources }]),
        ),
        project_id: full.body.project_id ?? '',
        user_id: full.body.user_id ?? '',
        consumer_generation: full.body.consumer_generation ?? null,
        consumer_type: full.body.consumer_type,
      };
    }
    return result;
  }

  async generationOf(uuid: string): Promise<number> {
    return (await this.expect<Schemas['ResourceProvider']>([200], 'GET', `/resource_providers/${uuid}`)).body
      .generation;
  }

  async createProvider(uuid: string, name: string, parentUuid?: string): Promise<number> {
    const body: Schemas['CreateResourceProvider'] = { uuid, name };
    if (parentUuid) body.parent_provider_uuid = parentUuid;
    const reply = await this.expect<Schemas['ResourceProvider'] | undefined>(
      [200, 201],
      'POST',
      '/resource_providers',
      body,
    );
    return reply.body?.generation ?? 0;
  }

  async setInventories(uuid: string, generation: number, inventories: Inventories): Promise<number> {
    const body: Schemas['SetInventories'] = { resource_provider_generation: generation, inventories };
    const reply = await this.expect<Schemas['Inventories']>(
      [200],
      'PUT',
      `/resource_providers/${uuid}/inventories`,
      body,
    );
    return reply.body.resource_provider_generation;
  }

  async setTraits(uuid: string, generation: number, traits: string[]): Promise<number> {
    const body: Schemas['ProviderTraits'] = { resource_provider_generation: generation, traits };
    const reply = await this.expect<Schemas['ProviderTraits']>(
      [200],
      'PUT',
      `/resource_providers/${uuid}/traits`,
      body,
    );
    return reply.body.resource_provider_generation;
  }

  async deleteProvider(uuid: string): Promise<void> {
    await this.expect([204, 404], 'DELETE', `/resource_providers/${uuid}`);
  }

  async reshape(body: Schemas['Reshape']): Promise<void> {
    await this.expect([204], 'POST', '/reshaper', body);
  }
}

/** The request never got an HTTP answer (refused, reset, timed out). */
class NetworkError extends Error {}
