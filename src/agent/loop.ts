import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { backoffDelay, PlacementClient, PlacementError, ServiceUnavailableError, type Logger } from './client';
import { resolveToken, type AgentConfig } from './config';
import { detect, type Detection } from './detectors/detect';
import { UNKNOWN } from './detectors/types';
import { HOST_CLASSES, MEC, type HostClass, type ReportedProvider } from './model';
import { planCycle, type HostClassWish, type Operation, type Plan, type PlanInput } from './reconcile';
import { newProviderUuid, StateStore } from './state';

export interface CycleResult {
  inSync: boolean;
  applied: Operation[];
  plan: Plan;
  detection: Detection;
  error?: string;
}

export function hostFqdn(): string {
  try {
    const fqdn = execFileSync('hostname', ['-f'], {
      encoding: 'utf8',
      timeout: 2000,
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (fqdn) return fqdn;
  } catch {
    // hostname(1) missing or failing: the kernel's name is the next best thing
  }
  return os.hostname();
}

export function hostResourceWishes(config: AgentConfig, detection: Detection): PlanInput['hostResources'] {
  if (!config.reportHostResources || !detection.resources) return undefined;
  const r = detection.resources;
  const wish = (total: number | typeof UNKNOWN, tuning: AgentConfig['vcpu']): HostClassWish => ({
    total,
    reserved: tuning.reserved,
    allocationRatio: tuning.allocationRatio,
  });
  const wishes: Partial<Record<HostClass, HostClassWish>> = {
    VCPU: wish(r.vcpu, config.vcpu),
    MEMORY_MB: wish(r.memoryMb, config.memoryMb),
    DISK_GB: wish(r.diskGb, config.diskGb),
  };
  return Object.fromEntries(HOST_CLASSES.map((rc) => [rc, wishes[rc]]));
}

const isConflict = (error: unknown) => error instanceof PlacementError && error.status === 409;

export class Agent {
  readonly client: PlacementClient;
  private readonly store: StateStore;
  private rootUuid?: string;
  private rootName: string;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly config: AgentConfig,
    private readonly logger: Logger,
    sleep?: (ms: number) => Promise<void>,
  ) {
    this.sleep = sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.client = new PlacementClient({
      url: config.url,
      token: () => resolveToken(config),
      roles: config.roles,
      retries: config.requestRetries,
      backoffBaseMs: config.backoffBaseMs,
      backoffCapMs: config.backoffCapMs,
      timeoutMs: config.requestTimeoutMs,
      logger,
      sleep: this.sleep,
    });
    this.store = new StateStore(config.stateDir);
    this.rootName = config.providerName ?? hostFqdn();
  }

  /** Config uuid, else the state dir, else adopt a provider already named after the host (nova-compute's), else new. */
  private async resolveRootUuid(dryRun: boolean): Promise<string> {
    if (this.rootUuid) return this.rootUuid;
    const state = this.store.load();
    let uuid = this.config.providerUuid ?? state.providerUuid;
    if (!uuid) uuid = (await this.client.findProviderByName(this.rootName))?.uuid ?? newProviderUuid();
    if (!dryRun && uuid !== state.providerUuid) this.store.save({ ...state, providerUuid: uuid });
    this.rootUuid = uuid;
    return uuid;
  }

  private async planFor(
    detection: Detection,
    rootUuid: string,
  ): Promise<{ plan: Plan; reported: { root?: ReportedProvider; children: ReportedProvider[] } }> {
    const reported = await this.client.readTree(rootUuid);
    const input: PlanInput = {
      layout: this.config.layout,
      root: { uuid: rootUuid, name: reported.root?.name ?? this.rootName },
      models: detection.models,
      mecReserved: this.config.reservedSlots,
      hostResources: hostResourceWishes(this.config, detection),
      reported,
      draining: this.store.load().draining,
    };
    if (this.config.layout === 'nested' && (reported.root?.usages[MEC] ?? 0) > 0) {
      input.rootConsumers = await this.client.consumersOf(rootUuid, MEC);
    }
    return { plan: planCycle(input), reported };
  }

  /** One cycle: detect, read, plan, send what differs; on a generation conflict re-read and re-plan (bounded). */
  async runCycle(options: { dryRun?: boolean } = {}): Promise<CycleResult> {
    const dryRun = options.dryRun ?? this.config.dryRun;
    const detection = detect(this.config);
    const rootUuid = await this.resolveRootUuid(dryRun);
    for (let attempt = 0; ; attempt++) {
      const { plan, reported } = await this.planFor(detection, rootUuid);
      if (dryRun || plan.ops.length === 0) {
        if (!dryRun) this.saveDraining(rootUuid, plan.draining);
        return { inSync: plan.ops.length === 0, applied: [], plan, detection };
      }
      const applied: Operation[] = [];
      try {
        await this.execute(plan.ops, reported, applied);
        this.saveDraining(rootUuid, plan.draining);
        return { inSync: true, applied, plan, detection };
      } catch (error) {
        if (!isConflict(error) || attempt >= this.config.conflictRetries) throw error;
        const delay = backoffDelay(attempt, 50, 2000);
        this.logger.info(
          { attempt, delayMs: delay, reason: (error as Error).message, code: (error as PlacementError).code },
          'conflict: re-reading provider tree',
        );
        await this.sleep(delay);
      }
    }
  }

  private saveDraining(rootUuid: string, draining: string[]): void {
    const state = this.store.load();
    if (state.providerUuid === rootUuid && state.draining.join() === draining.join()) return;
    this.store.save({ ...state, providerUuid: rootUuid, draining });
  }

  private async execute(
    ops: Operation[],
    reported: { root?: ReportedProvider; children: ReportedProvider[] },
    applied: Operation[],
  ): Promise<void> {
    const generations = new Map<string, number>();
    for (const p of [reported.root, ...reported.children]) if (p) generations.set(p.uuid, p.generation);
    const generation = async (uuid: string) => generations.get(uuid) ?? (await this.client.generationOf(uuid));
    for (const op of ops) {
      switch (op.op) {
        case 'createProvider':
          generations.set(op.uuid, await this.client.createProvider(op.uuid, op.name, op.parentUuid));
          break;
        case 'setInventories':
          generations.set(
            op.uuid,
            await this.client.setInventories(op.uuid, await generation(op.uuid), op.inventories),
          );
          break;
        case 'setTraits':
          generations.set(op.uuid, await this.client.setTraits(op.uuid, await generation(op.uuid), op.traits));
          break;
        case 'deleteProvider':
          await this.client.deleteProvider(op.uuid);
          generations.delete(op.uuid);
          break;
        case 'reshape': {
          const inventories: Record<string, { resource_provider_generation: number; inventories: any }> = {};
          for (const [uuid, inv] of Object.entries(op.inventories))
            inventories[uuid] = { resource_provider_generation: await generation(uuid), inventories: inv };
          await this.client.reshape(inventories, op.allocations);
          // The reshaper answers 204 without generations: read them again when next needed.
          for (const uuid of Object.keys(op.inventories)) generations.delete(uuid);
          break;
        }
      }
      applied.push(op);
    }
  }

  /** Run cycles until `signal` aborts: at start, then every interval with jitter; failures back off, never throw. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const started = Date.now();
      let delay: number;
      try {
        const result = await this.runCycle();
        this.logSummary(result, Date.now() - started);
        failures = 0;
        const spread = this.config.intervalSeconds * 1000 * this.config.jitter;
        delay = this.config.intervalSeconds * 1000 + (Math.random() * 2 - 1) * spread;
      } catch (error) {
        const retryAfter = error instanceof ServiceUnavailableError ? error.retryAfterMs : undefined;
        delay = Math.max(retryAfter ?? 0, backoffDelay(failures, this.config.backoffBaseMs, this.config.backoffCapMs));
        failures++;
        this.logger.error({ failures, nextInMs: delay, error: (error as Error).message }, 'cycle failed');
      }
      await abortableSleep(delay, signal);
    }
  }

  logSummary(result: CycleResult, durationMs: number): void {
    const models = Object.fromEntries(
      Object.entries(result.detection.models).map(([m, s]) => [m, s.state === 'present' ? s.slots : s.state]),
    );
    for (const warning of [...result.plan.warnings, ...result.detection.disagreements])
      this.logger.warn({ warning }, warning);
    this.logger.info(
      {
        inSync: result.inSync,
        layout: this.config.layout,
        provider: this.rootUuid,
        models,
        changes: result.applied.map(describe),
        draining: result.plan.draining,
        durationMs,
      },
      'cycle summary',
    );
  }
}

export function describe(op: Operation): string {
  switch (op.op) {
    case 'createProvider':
      return `create provider ${op.name} (${op.uuid})${op.parentUuid ? ` under ${op.parentUuid}` : ''}`;
    case 'setInventories':
      return `set inventories of ${op.uuid}: ${
        Object.entries(op.inventories)
          .map(([rc, i]) => `${rc}=${i.total}${i.reserved ? `(reserved ${i.reserved})` : ''}`)
          .join(', ') || 'none'
      }`;
    case 'setTraits':
      return `set traits of ${op.uuid}: ${op.traits.join(', ') || 'none'}`;
    case 'deleteProvider':
      return `delete provider ${op.uuid}`;
    case 'reshape':
      return `reshape ${Object.keys(op.inventories).length} provider(s), move ${Object.keys(op.allocations).length} consumer(s)`;
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
