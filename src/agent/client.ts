import type { ConsumerAllocations, Inventories, ReportedProvider } from './model';

/** Every request goes at this microversion: in_tree (1.14), reserved = total (1.26), consumer types (1.38). */
export const AGENT_MICROVERSION = '1.39';

export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface ClientOptions {
  url: string;
  token: () => string;
  /** Sent as X-Roles when not empty (noauth2). */
  roles?: string[];
  retries: number;
  backoffBaseMs: number;
  backoffCapMs: number;
  timeoutMs: number;
  logger?: Logger;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface ApiReply<T = any> {
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

export class PlacementClient {
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: ClientOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
  }

  /** Any answer below 500 (except 429) is returned; transient failures are retried with backoff, then thrown. */
  async send<T = any>(method: string, path: string, body?: unknown): Promise<ApiReply<T>> {
    let lastError = '';
    let retryAfterMs: number | undefined;
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
      try {
        const reply = await this.once<T>(method, path, body);
        if (!transient(reply.status)) return reply;
        retryAfterMs = parseRetryAfter(reply.headers.get('retry-after'));
        lastError = `HTTP ${reply.status}`;
      } catch (error) {
        retryAfterMs = undefined;
        lastError =
          (error as Error).message +
          ((error as any).cause ? `: ${(error as any).cause.code ?? (error as any).cause.message}` : '');
      }
    }
    throw new ServiceUnavailableError(`${method} ${path}: ${lastError}`, retryAfterMs);
  }

  private async once<T>(method: string, path: string, body?: unknown): Promise<ApiReply<T>> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      'openstack-api-version': `placement ${AGENT_MICROVERSION}`,
      'x-auth-token': this.options.token(),
      'user-agent': 'emplace-agent',
    };
    if (this.options.roles?.length) headers['x-roles'] = this.options.roles.join(',');
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(this.options.url.replace(/\/+$/, '') + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  /** Like send, but anything outside `ok` becomes a PlacementError carrying Placement's code. */
  async expect<T = any>(ok: number[], method: string, path: string, body?: unknown): Promise<ApiReply<T>> {
    const reply = await this.send<T>(method, path, body);
    if (ok.includes(reply.status)) return reply;
    const error = (reply.body as any)?.errors?.[0];
    throw new PlacementError(
      reply.status,
      error?.code,
      `${method} ${path}: ${reply.status} ${error?.detail ?? JSON.stringify(reply.body)}`,
    );
  }

  async findProviderByName(name: string): Promise<{ uuid: string } | undefined> {
    const reply = await this.expect([200], 'GET', `/resource_providers?name=${encodeURIComponent(name)}`);
    return reply.body.resource_providers[0];
  }

  /** The root and every provider in its tree, with inventories, traits and usages; undefined root when missing. */
  async readTree(rootUuid: string): Promise<{ root?: ReportedProvider; children: ReportedProvider[] }> {
    const reply = await this.send('GET', `/resource_providers?in_tree=${rootUuid}`);
    // Placement answers 400 for an in_tree uuid it does not know (older) or an empty list (newer).
    if (reply.status === 400) return { children: [] };
    if (reply.status !== 200) await this.expect([200], 'GET', `/resource_providers?in_tree=${rootUuid}`);
    const providers: ReportedProvider[] = [];
    for (const rp of reply.body.resource_providers as any[]) providers.push(await this.readProvider(rp));
    return { root: providers.find((p) => p.uuid === rootUuid), children: providers.filter((p) => p.uuid !== rootUuid) };
  }

  private async readProvider(rp: any): Promise<ReportedProvider> {
    const base = `/resource_providers/${rp.uuid}`;
    const [inventories, traits, usages] = await Promise.all([
      this.expect([200], 'GET', `${base}/inventories`),
      this.expect([200], 'GET', `${base}/traits`),
      this.expect([200], 'GET', `${base}/usages`),
    ]);
    // Take the generation from the traits read: inventories, traits and usages may race a writer, and a
    // stale generation only costs a 409 and a re-read.
    return {
      uuid: rp.uuid,
      name: rp.name,
      generation: Math.min(
        rp.generation,
        inventories.body.resource_provider_generation,
        traits.body.resource_provider_generation,
      ),
      parentUuid: rp.parent_provider_uuid ?? null,
      inventories: inventories.body.inventories,
      traits: traits.body.traits,
      usages: usages.body.usages,
    };
  }

  /** Full allocations of every consumer holding `resourceClass` on the provider (for the reshaper). */
  async consumersOf(providerUuid: string, resourceClass: string): Promise<Record<string, ConsumerAllocations>> {
    const reply = await this.expect([200], 'GET', `/resource_providers/${providerUuid}/allocations`);
    const result: Record<string, ConsumerAllocations> = {};
    for (const [consumer, entry] of Object.entries<any>(reply.body.allocations)) {
      if (!entry.resources?.[resourceClass]) continue;
      const full = await this.expect([200], 'GET', `/allocations/${consumer}`);
      result[consumer] = {
        allocations: Object.fromEntries(
          Object.entries<any>(full.body.allocations).map(([rp, a]) => [rp, { resources: a.resources }]),
        ),
        project_id: full.body.project_id,
        user_id: full.body.user_id,
        consumer_generation: full.body.consumer_generation ?? null,
        consumer_type: full.body.consumer_type,
      };
    }
    return result;
  }

  async generationOf(uuid: string): Promise<number> {
    return (await this.expect([200], 'GET', `/resource_providers/${uuid}`)).body.generation;
  }

  async createProvider(uuid: string, name: string, parentUuid?: string): Promise<number> {
    const body: Record<string, string> = { uuid, name };
    if (parentUuid) body.parent_provider_uuid = parentUuid;
    const reply = await this.expect([200, 201], 'POST', '/resource_providers', body);
    return reply.body?.generation ?? 0;
  }

  async setInventories(uuid: string, generation: number, inventories: Inventories): Promise<number> {
    const reply = await this.expect([200], 'PUT', `/resource_providers/${uuid}/inventories`, {
      resource_provider_generation: generation,
      inventories,
    });
    return reply.body.resource_provider_generation;
  }

  async setTraits(uuid: string, generation: number, traits: string[]): Promise<number> {
    const reply = await this.expect([200], 'PUT', `/resource_providers/${uuid}/traits`, {
      resource_provider_generation: generation,
      traits,
    });
    return reply.body.resource_provider_generation;
  }

  async deleteProvider(uuid: string): Promise<void> {
    await this.expect([204, 404], 'DELETE', `/resource_providers/${uuid}`);
  }

  async reshape(
    inventories: Record<string, { resource_provider_generation: number; inventories: Inventories }>,
    allocations: Record<string, ConsumerAllocations>,
  ): Promise<void> {
    await this.expect([204], 'POST', '/reshaper', { inventories, allocations });
  }
}
