import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { execute, RetryCycle, StopCycle, describe, type ExecuteResult } from './apply';
import { AuthRefusedError, tokenSource } from './auth';
import { backoffDelay, PlacementClient, ServiceUnavailableError } from './client';
import type { AgentConfig } from './config';
import { detect, type Detection } from './detectors/detect';
import { UNKNOWN } from './detectors/types';
import type { Logger } from './log';
import {
  childName,
  HOST_CLASSES,
  MEC,
  MODEL_LABEL,
  MODELS,
  OWNER_TRAIT,
  type HostClass,
  type ModelName,
  type ReportedProvider,
} from './model';
import {
  planCycle,
  type HostClassWish,
  type Operation,
  type Plan,
  type PlanInput,
  type ReportedTree,
} from './reconcile';
import { newProviderUuid, StateStore } from './state';
import { writeStatus } from './status';

export { describe } from './apply';

/** in-sync: everything known is as wanted. unknown: that, but some evidence is missing. failed: not in sync. */
export type Outcome = 'in-sync' | 'unknown' | 'failed';

export interface CycleResult {
  outcome: Outcome;
  inSync: boolean;
  dryRun: boolean;
  rootUuid?: string;
  rootName: string;
  applied: Operation[];
  failed: ExecuteResult['failed'];
  plan: Plan;
  detection: Detection;
  /** "SEV-ES: kvm_amd is not loaded": models (and host classes) left exactly as they were. */
  unknowns: string[];
  /** Why the host is not in sync: clashes, refused or failed writes, the cycle's error. */
  errors: string[];
  /** Slots in use on the host (misc.current) against usage recorded in the service. */
  drift: string[];
  /** The tree as it stands after the cycle (for the status file). */
  tree?: ReportedTree;
  retryAfterMs?: number;
  /** A clash or refusal: the next cycle comes at the normal interval, not after a quick backoff. */
  terminal?: boolean;
  /** The heartbeat after a cycle that kept the host true: 'unsupported' against OpenStack Placement. */
  heartbeat?: 'sent' | 'unsupported' | 'failed';
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
  if (config.reportHostResources === false || !detection.resources) return undefined;
  const r = detection.resources;
  const wish = (total: number | typeof UNKNOWN, tuning: AgentConfig['vcpu']): HostClassWish => ({
    total,
    reserved: tuning.reserved,
    allocationRatio: tuning.allocationRatio,
  });
  const wishes: Record<HostClass, HostClassWish> = {
    VCPU: wish(r.vcpu, config.vcpu),
    MEMORY_MB: wish(r.memoryMb, config.memoryMb),
    DISK_GB: wish(r.diskGb, config.diskGb),
  };
  return Object.fromEntries(HOST_CLASSES.map((rc) => [rc, wishes[rc]]));
}

export function unknownsOf(detection: Detection, config: AgentConfig): string[] {
  const unknowns = MODELS.filter((m) => detection.models[m].state === 'unknown').map(
    (m) => `${MODEL_LABEL[m]}: ${detection.models[m].reason}`,
  );
  if (config.reportHostResources !== false && detection.resources) {
    const r = detection.resources;
    if ([r.vcpu, r.memoryMb, r.diskGb].includes(UNKNOWN)) unknowns.push(`host resources: ${r.notes.join('; ')}`);
  }
  return unknowns;
}

export class Agent {
  readonly client: PlacementClient;
  private readonly store: StateStore;
  private rootUuid?: string;
  /** Where the root uuid came from: a new one or the state dir means an earlier cycle of this agent chose it. */
  private rootOrigin?: 'config' | 'state' | 'name' | 'new';
  private readonly rootName: string;
  private readonly sleep: (ms: number) => Promise<void>;
  private ownerTraitKnown = false;
  private lastSuccess?: string;

  constructor(
    readonly config: AgentConfig,
    private readonly logger: Logger,
    sleep?: (ms: number) => Promise<void>,
  ) {
    this.sleep = sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.client = new PlacementClient({
      url: config.url,
      tokens: tokenSource(config),
      roles: config.roles,
      retries: config.requestRetries,
      backoffBaseMs: config.backoffBaseMs,
      backoffCapMs: config.backoffCapMs,
      timeoutMs: config.requestTimeoutMs,
      caFile: config.caFile,
      logger,
      sleep: this.sleep,
    });
    this.store = new StateStore(config.stateDir);
    this.rootName = config.providerName ?? hostFqdn();
  }

  /** One cycle: detect, read, plan, send what differs. Never throws: the result says what went wrong. */
  async runCycle(options: { dryRun?: boolean } = {}): Promise<CycleResult> {
    const dryRun = options.dryRun ?? this.config.dryRun;
    const detection = detect(this.config);
    const result: CycleResult = {
      outcome: 'failed',
      inSync: false,
      dryRun,
      rootName: this.rootName,
      applied: [],
      failed: [],
      plan: { ops: [], warnings: [], errors: [], clashes: [], drains: {}, holders: {} },
      detection,
      unknowns: unknownsOf(detection, this.config),
      errors: [],
      drift: [],
    };
    try {
      await this.reconcile(result, dryRun);
    } catch (error) {
      result.errors.push((error as Error).message);
      result.terminal = error instanceof StopCycle || error instanceof AuthRefusedError;
      if (error instanceof ServiceUnavailableError) result.retryAfterMs = error.retryAfterMs;
    }
    result.outcome = result.errors.length > 0 ? 'failed' : result.unknowns.length > 0 ? 'unknown' : 'in-sync';
    if (dryRun && result.plan.ops.length > 0) result.outcome = 'failed';
    result.inSync = result.outcome === 'in-sync';
    const root = result.tree?.root?.uuid;
    if (!dryRun && result.outcome !== 'failed' && root) await this.sendHeartbeat(result, root);
    if (!dryRun) this.report(result);
    return result;
  }

  /**
   * Only a cycle that kept the host true (in sync, or unknown evidence left as it was) says the reporter is
   * alive: a host whose agent keeps failing goes silent, which EMPLACE_STALE_AFTER_SECONDS acts on.
   * A failed heartbeat is logged and never fails the cycle.
   */
  private async sendHeartbeat(result: CycleResult, rootUuid: string): Promise<void> {
    try {
      result.heartbeat = await this.client.heartbeat(rootUuid);
    } catch (error) {
      result.heartbeat = 'failed';
      this.logger.warn({ error: (error as Error).message }, 'heartbeat not sent');
    }
  }

  private async reconcile(result: CycleResult, dryRun: boolean): Promise<void> {
    const state = this.store.load();
    let rootUuid = await this.resolveRootUuid(state, dryRun);
    for (let attempt = 0; ; attempt++) {
      const { input, tree } = await this.read(result.detection, rootUuid, state, dryRun);
      rootUuid = input.root.uuid;
      result.rootUuid = rootUuid;
      const plan = planCycle(input);
      result.plan = plan;
      result.tree = tree;
      if (!state.found && tree.root?.traits.includes(OWNER_TRAIT))
        plan.warnings.push(
          `no state file in ${this.config.stateDir} but ${tree.root.uuid} carries ${OWNER_TRAIT}: state dir lost? ` +
            `drains made before cannot be told from an operator's reserved`,
        );
      if (plan.clashes.length > 0) {
        result.errors.push(...plan.clashes);
        result.terminal = true;
        return;
      }
      result.errors.push(...plan.errors);
      if (dryRun || plan.ops.length === 0) {
        if (!dryRun) this.saveState(rootUuid, plan);
        result.drift = drift(result.detection, tree, plan);
        return;
      }
      try {
        const done = await execute(this.client, plan.ops, tree);
        result.applied.push(...done.applied);
        result.failed.push(...done.failed);
        for (const f of done.failed) result.errors.push(`${describe(f.op)}: ${f.error}`);
        if (done.applied.some((op) => op.op === 'createTrait')) this.ownerTraitKnown = true;
        this.saveState(rootUuid, plan);
        result.tree = await this.client.readTree(rootUuid);
        result.drift = drift(result.detection, result.tree, plan);
        return;
      } catch (error) {
        if (error instanceof StopCycle && error.clash) throw new StopCycle(await this.clashMessage(error, plan), true);
        if (!(error instanceof RetryCycle) || attempt >= this.config.conflictRetries) throw error;
        const delay = backoffDelay(attempt, 50, 2000);
        this.logger.info({ attempt, delayMs: delay, reason: error.message, code: error.code }, 'conflict: re-reading');
        await this.sleep(delay);
      }
    }
  }

  /** 409 duplicate_name: name both uuids, ours and the one holding the name. */
  private async clashMessage(error: StopCycle, plan: Plan): Promise<string> {
    const create = plan.ops.find(
      (op): op is Extract<Operation, { op: 'createProvider' }> =>
        op.op === 'createProvider' && error.message.includes('POST /resource_providers'),
    );
    if (!create) return error.message;
    const other = await this.client.findProviderByName(create.name).catch(() => undefined);
    return (
      `provider "${create.name}" could not be created with uuid ${create.uuid}: the name is taken by ` +
      `${other?.uuid ?? 'another provider'} (409 placement.duplicate_name); nothing more written, not retried`
    );
  }

  /** Config uuid, else the state dir, else a provider already named after the host (nova-compute's), else new. */
  private async resolveRootUuid(state: ReturnType<StateStore['load']>, dryRun: boolean): Promise<string> {
    if (this.rootUuid) return this.rootUuid;
    let uuid = this.config.providerUuid ?? state.providerUuid;
    this.rootOrigin = this.config.providerUuid ? 'config' : uuid ? 'state' : undefined;
    if (!uuid) {
      const named = await this.client.findProviderByName(this.rootName);
      this.rootOrigin = named ? 'name' : 'new';
      uuid = named?.uuid ?? newProviderUuid();
    }
    if (!dryRun && uuid !== state.providerUuid) this.store.save({ providerUuid: uuid, drains: state.drains });
    this.rootUuid = uuid;
    return uuid;
  }

  private async read(
    detection: Detection,
    rootUuid: string,
    state: ReturnType<StateStore['load']>,
    dryRun: boolean,
  ): Promise<{ input: PlanInput; tree: ReportedTree }> {
    const tree: ReportedTree = await this.client.readTree(rootUuid);
    const name = tree.root?.name ?? this.rootName;
    if (!tree.root) {
      const holder = await this.client.findProviderByName(name);
      if (holder && holder.uuid !== rootUuid) {
        if (!this.config.adoptByName)
          throw new StopCycle(
            `provider "${name}" already exists with uuid ${holder.uuid}, not the agent's ${rootUuid} ` +
              `(from ${this.config.providerUuid ? 'providerUuid' : 'the state dir'}): nothing written; ` +
              `pass --adopt-by-name to take it over`,
            true,
          );
        this.rootUuid = holder.uuid;
        this.rootOrigin = 'name';
        if (!dryRun) this.store.save({ providerUuid: holder.uuid, drains: state.drains });
        return this.read(detection, holder.uuid, state, dryRun);
      }
    }
    tree.byName = await this.namesOutsideTree(detection, tree, name);
    const everyone = [tree.root, ...tree.children, ...Object.values(tree.byName)];
    if (!this.ownerTraitKnown) {
      this.ownerTraitKnown =
        everyone.some((p) => p?.traits.includes(OWNER_TRAIT)) || (await this.client.traitExists(OWNER_TRAIT));
    }
    const input: PlanInput = {
      layout: this.config.layout,
      root: { uuid: rootUuid, name },
      models: detection.models,
      mecReserved: this.config.reservedSlots,
      hostResources: hostResourceWishes(this.config, detection),
      ownership: this.config,
      // A root this agent chose (and may have created before a failed cycle set its owner trait) is its own.
      rootFromState: rootUuid === this.rootUuid && (this.rootOrigin === 'state' || this.rootOrigin === 'new'),
      reported: tree,
      drains: this.store.load().drains,
      ownerTraitExists: this.ownerTraitKnown,
    };
    if (this.config.layout === 'nested' && (tree.root?.usages[MEC] ?? 0) > 0)
      input.rootConsumers = await this.client.consumersOf(rootUuid, MEC);
    return { input, tree };
  }

  /** A child the agent would create may already exist by name elsewhere (names are unique service-wide). */
  private async namesOutsideTree(detection: Detection, tree: ReportedTree, rootName: string) {
    const byName: Record<string, ReportedProvider | undefined> = {};
    for (const model of MODELS as ModelName[]) {
      if (detection.models[model].state !== 'present') continue;
      const name = childName(rootName, model);
      if (tree.children.some((c) => c.name === name)) continue;
      const found = await this.client.findProviderByName(name);
      if (found) byName[name] = await this.client.readProvider(found);
    }
    return byName;
  }

  private saveState(rootUuid: string, plan: Plan): void {
    const state = this.store.load();
    if (state.providerUuid === rootUuid && JSON.stringify(state.drains) === JSON.stringify(plan.drains)) return;
    this.store.save({ providerUuid: rootUuid, drains: plan.drains });
  }

  /** Logs, then the status file (and metrics file): an unwritable status never fails the cycle. */
  private report(result: CycleResult): void {
    if (result.outcome !== 'failed') this.lastSuccess = new Date().toISOString();
    try {
      writeStatus(this.config, result, this.lastSuccess);
    } catch (error) {
      this.logger.warn({ error: (error as Error).message }, 'status file not written');
    }
  }

  /** Run cycles until `signal` aborts: at start, then every interval with jitter; failures back off, never throw. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const started = Date.now();
      const result = await this.runCycle();
      this.logSummary(result, Date.now() - started);
      const interval = this.config.intervalSeconds * 1000;
      const spread = interval * this.config.jitter;
      let delay = interval + (Math.random() * 2 - 1) * spread;
      if (result.outcome === 'failed' && !result.terminal) {
        delay = Math.max(
          result.retryAfterMs ?? 0,
          backoffDelay(failures, this.config.backoffBaseMs, this.config.backoffCapMs),
        );
        failures++;
      } else failures = 0;
      if (result.outcome === 'failed') this.logger.error({ failures, nextInMs: Math.round(delay) }, 'cycle failed');
      await abortableSleep(delay, signal);
    }
  }

  logSummary(result: CycleResult, durationMs: number): void {
    const models = Object.fromEntries(
      MODELS.map((m) => {
        const s = result.detection.models[m];
        return [m, s.state === 'present' ? s.slots : s.state];
      }),
    );
    for (const warning of [...result.detection.warnings, ...result.plan.warnings, ...result.detection.disagreements])
      this.logger.warn({ warning }, warning);
    for (const error of result.errors) this.logger.error({ error }, error);
    this.logger.info(
      {
        outcome: result.outcome,
        layout: this.config.layout,
        provider: result.rootUuid,
        models,
        unknowns: result.unknowns,
        drift: result.drift,
        changes: result.applied.map(describe),
        draining: Object.keys(result.plan.drains),
        durationMs,
      },
      'cycle summary',
    );
  }
}

/** Host usage (misc.current) against the service's usage, per ASID pool. */
export function drift(detection: Detection, tree: ReportedTree, plan: Plan): string[] {
  const host = detection.hostUsage;
  if (!host) return [];
  const providers = [tree.root, ...tree.children].filter((p): p is ReportedProvider => !!p);
  const usedOn = (uuid: string | undefined) => providers.find((p) => p.uuid === uuid)?.usages[MEC] ?? 0;
  const rootUuid = tree.root?.uuid;
  const childOf = (m: ModelName) => (plan.holders[m]?.uuid === rootUuid ? undefined : plan.holders[m]?.uuid);
  const service: Record<'sev' | 'es' | 'tdx', number> = {
    sev: usedOn(rootUuid) + usedOn(childOf('sev')),
    es: usedOn(childOf('sev_es')) + usedOn(childOf('sev_snp')),
    tdx: usedOn(childOf('tdx')),
  };
  const labels = { sev: 'SEV', es: 'SEV-ES/SNP', tdx: 'TDX' };
  const out: string[] = [];
  for (const pool of ['sev', 'es', 'tdx'] as const) {
    const onHost = host[pool];
    if (onHost === undefined || onHost === service[pool]) continue;
    const why =
      onHost > service[pool]
        ? `${onHost - service[pool]} guest(s) started outside the scheduler?`
        : `${service[pool] - onHost} claim(s) without a guest (leaked?)`;
    out.push(
      `${labels[pool]}: ${onHost} slot(s) in use on the host (misc.current), ${service[pool]} in the service: ${why}`,
    );
  }
  return out;
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
