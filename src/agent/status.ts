import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe } from './apply';
import type { AgentConfig } from './config';
import type { Detection } from './detectors/detect';
import { isMiss, type SlotReport } from './detectors/types';
import { exitStatusOf } from './exit-codes';
import type { CycleResult } from './loop';
import { MEC, MODEL_LABEL, MODELS, type ModelName, type ReportedProvider } from './model';
import { drainKey } from './inventory-merge';
import { writeAtomically } from './state';
import { agentVersion } from './version';

/** One model's line in the status file and table. */
export interface ModelStatus {
  state: 'present' | 'absent' | 'unknown';
  slots: number;
  reason: string;
  /** What each capacity source said about this model's pool. */
  sources: Record<string, number>;
  provider?: { uuid: string; name: string };
  total?: number;
  reserved?: number;
  used?: number;
  draining: boolean;
}

/** `<state-dir>/status.json`, rewritten after every cycle. */
export interface StatusFile {
  schema: 1;
  agentVersion: string;
  host: string;
  provider?: string;
  layout: string;
  lastCycle: {
    at: string;
    outcome: CycleResult['outcome'];
    exitStatus: number;
    changes: string[];
    errors: string[];
    warnings: string[];
    unknowns: string[];
    drift: string[];
  };
  lastSuccess?: string;
  models: Record<ModelName, ModelStatus>;
  disagreements: string[];
  /** The last cycle that saw sources disagree (carried over cycles that did not). */
  lastDisagreement?: { at: string; text: string[] };
  hostUsage?: Detection['hostUsage'];
}

const POOL_OF: Record<ModelName, 'sev' | 'es' | 'tdx'> = { sev: 'sev', sev_es: 'es', sev_snp: 'es', tdx: 'tdx' };

function sourcesOf(detection: Detection, model: ModelName): Record<string, number> {
  const key = POOL_OF[model];
  const said: Record<string, number> = {};
  for (const s of detection.sources) if (!isMiss(s) && (s as SlotReport)[key] !== undefined) said[s.source] = s[key]!;
  return said;
}

export function buildStatus(
  config: AgentConfig,
  result: CycleResult,
  lastSuccess?: string,
  previous?: StatusFile,
): StatusFile {
  const at = new Date().toISOString();
  const providers = [result.tree?.root, ...(result.tree?.children ?? [])].filter((p): p is ReportedProvider => !!p);
  const models = Object.fromEntries(
    MODELS.map((m) => {
      const detected = result.detection.models[m];
      const holder = result.plan.holders[m];
      const provider = providers.find((p) => p.uuid === holder?.uuid);
      const inv = provider?.inventories[MEC];
      const status: ModelStatus = {
        state: detected.state,
        slots: detected.slots,
        reason: detected.reason,
        sources: sourcesOf(result.detection, m),
        provider: holder,
        total: inv?.total,
        reserved: inv?.reserved,
        used: inv ? (provider?.usages[MEC] ?? 0) : undefined,
        draining: !!holder && drainKey(holder.uuid, MEC) in result.plan.drains,
      };
      return [m, status];
    }),
  ) as Record<ModelName, ModelStatus>;
  const disagreements = result.detection.disagreements;
  return {
    schema: 1,
    agentVersion: agentVersion(),
    host: result.rootName,
    provider: result.rootUuid,
    layout: config.layout,
    lastCycle: {
      at,
      outcome: result.outcome,
      exitStatus: exitStatusOf(result.outcome),
      changes: result.applied.map(describe),
      errors: result.errors,
      warnings: [...result.detection.warnings, ...result.plan.warnings],
      unknowns: result.unknowns,
      drift: result.drift,
    },
    lastSuccess: lastSuccess ?? previous?.lastSuccess,
    models,
    disagreements,
    lastDisagreement: disagreements.length > 0 ? { at, text: disagreements } : previous?.lastDisagreement,
    hostUsage: result.detection.hostUsage,
  };
}

export function readStatus(file: string): StatusFile | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StatusFile;
  } catch {
    return undefined;
  }
}

export function writeStatus(config: AgentConfig, result: CycleResult, lastSuccess?: string): StatusFile {
  const file = config.statusFile ?? path.join(config.stateDir, 'status.json');
  const status = buildStatus(config, result, lastSuccess, readStatus(file));
  writeAtomically(file, JSON.stringify(status, null, 2) + '\n');
  if (config.metricsFile) writeAtomically(config.metricsFile, renderMetrics(status));
  return status;
}

const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** Prometheus text format for node-exporter's textfile collector (written to a temp file, then renamed). */
export function renderMetrics(status: StatusFile): string {
  const out: string[] = [];
  const gauge = (name: string, help: string, samples: Array<[Record<string, string>, number | undefined]>) => {
    const present = samples.filter((s): s is [Record<string, string>, number] => s[1] !== undefined);
    if (present.length === 0) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of present) {
      const text = Object.entries(labels)
        .map(([k, v]) => `${k}="${label(v)}"`)
        .join(',');
      out.push(`${name}${text ? `{${text}}` : ''} ${value}`);
    }
  };
  const seconds = (iso?: string) => (iso ? Date.parse(iso) / 1000 : undefined);
  const host = { host: status.host };
  gauge('emplace_agent_last_cycle_timestamp_seconds', 'End of the last cycle.', [[host, seconds(status.lastCycle.at)]]);
  gauge('emplace_agent_last_success_timestamp_seconds', 'End of the last cycle that was not failed.', [
    [host, seconds(status.lastSuccess)],
  ]);
  gauge(
    'emplace_agent_cycle_outcome',
    'Outcome of the last cycle (1 for the one that happened).',
    (['in-sync', 'unknown', 'failed'] as const).map((o) => [
      { ...host, outcome: o },
      status.lastCycle.outcome === o ? 1 : 0,
    ]),
  );
  gauge('emplace_agent_exit_status', 'Exit status the last cycle would give under --once.', [
    [host, status.lastCycle.exitStatus],
  ]);
  gauge('emplace_agent_unknown_evidence', 'Things left as they were for want of evidence.', [
    [host, status.lastCycle.unknowns.length],
  ]);
  gauge('emplace_agent_errors', 'Errors of the last cycle.', [[host, status.lastCycle.errors.length]]);
  gauge('emplace_agent_usage_drift', 'Entries where host usage (misc.current) differs from the service.', [
    [host, status.lastCycle.drift.length],
  ]);
  const perModel = (pick: (m: ModelStatus) => number | undefined) =>
    MODELS.map((m): [Record<string, string>, number | undefined] => [{ ...host, model: m }, pick(status.models[m])]);
  gauge(
    'emplace_agent_model_state',
    'Detected state of each model (1 for the current one).',
    MODELS.flatMap((m) =>
      (['present', 'absent', 'unknown'] as const).map((s): [Record<string, string>, number] => [
        { ...host, model: m, state: s },
        status.models[m].state === s ? 1 : 0,
      ]),
    ),
  );
  gauge(
    'emplace_agent_detected_slots',
    'Slots the host offers per model (after caps).',
    perModel((m) => m.slots),
  );
  gauge(
    'emplace_agent_inventory_total',
    'MEM_ENCRYPTION_CONTEXT total in the service.',
    perModel((m) => m.total),
  );
  gauge(
    'emplace_agent_inventory_reserved',
    'MEM_ENCRYPTION_CONTEXT reserved.',
    perModel((m) => m.reserved),
  );
  gauge(
    'emplace_agent_inventory_used',
    'MEM_ENCRYPTION_CONTEXT used.',
    perModel((m) => m.used),
  );
  gauge(
    'emplace_agent_draining',
    'The agent drains this model (reserved = total).',
    perModel((m) => (m.draining ? 1 : 0)),
  );
  return out.join('\n') + '\n';
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `emplace-agent status`: the last cycle, one table for the host. */
export function renderStatusTable(status: StatusFile, now: number = Date.now()): string {
  const ago = Math.round((now - Date.parse(status.lastCycle.at)) / 1000);
  const head = [
    `host ${status.host}  provider ${status.provider ?? '-'}  layout ${status.layout}`,
    `last cycle ${status.lastCycle.at} (${ago}s ago): ${status.lastCycle.outcome}, exit status ${status.lastCycle.exitStatus}` +
      `; last success ${status.lastSuccess ?? 'never'}`,
  ];
  const rows = [
    ['MODEL', 'STATE', 'PROVIDER', 'TOTAL', 'RESERVED', 'USED', 'DRAINING', 'SOURCES', 'LAST DISAGREEMENT'],
  ];
  const prefix = { sev: 'SEV slots', es: 'SEV-ES/SNP slots', tdx: 'TDX slots' };
  const lastFor = (m: ModelName) => {
    const text = status.lastDisagreement?.text.filter((t) => t.startsWith(prefix[POOL_OF[m]])) ?? [];
    return text.length ? `${status.lastDisagreement!.at}: ${text.join('; ')}` : '-';
  };
  for (const m of MODELS) {
    const s = status.models[m];
    const figure = (n: number | undefined) => (n === undefined ? '-' : String(n));
    const sources = Object.entries(s.sources)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    rows.push([
      MODEL_LABEL[m],
      s.state === 'present' ? `present (${s.slots})` : s.state,
      s.provider ? s.provider.name : '-',
      figure(s.total),
      figure(s.reserved),
      figure(s.used),
      s.draining ? 'yes' : 'no',
      sources || '-',
      lastFor(m),
    ]);
  }
  const notes = [
    ...status.lastCycle.unknowns.map((u) => `unknown: ${u}`),
    ...status.lastCycle.errors.map((e) => `error: ${e}`),
    ...status.lastCycle.drift.map((d) => `drift: ${d}`),
    ...status.lastCycle.warnings.map((w) => `warning: ${w}`),
  ];
  return [...head, '', table(rows), ...(notes.length ? ['', ...notes] : [])].join('\n') + '\n';
}
