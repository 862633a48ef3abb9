#!/usr/bin/env node
import { describe } from './apply';
import { AgentConfigError, authMode, loadAgentConfig, redactedConfig, type AgentConfig } from './config';
import { detect, type Detection } from './detectors/detect';
import { EXIT_CONFIG, EXIT_IN_SYNC, EXIT_INTERNAL, EXIT_UNKNOWN, exitStatusOf } from './exit-codes';
import { helpText } from './help';
import { jsonLogger, levelKnown } from './log';
import { Agent, type CycleResult } from './loop';
import { MODEL_LABEL, MODELS } from './model';
import { readStatus, renderStatusTable } from './status';
import { agentVersion } from './version';

export { EXIT_CONFIG, EXIT_IN_SYNC, EXIT_NOT_IN_SYNC, EXIT_UNKNOWN } from './exit-codes';

type Out = (text: string) => void;

/** The detection, one line per model and source, as --once and --dry-run print it. */
export function detectionText(detection: Detection): string {
  const lines = ['detection:'];
  for (const m of MODELS) {
    const s = detection.models[m];
    lines.push(
      `  ${MODEL_LABEL[m].padEnd(8)} ${s.state.padEnd(8)} ${s.state === 'present' ? `${s.slots} slot(s): ` : ''}${s.reason}`,
    );
  }
  for (const source of detection.sources) {
    const said = 'status' in source ? `${source.status}: ${source.detail}` : sourceFigures(source);
    lines.push(`  source ${source.source}: ${said}`);
  }
  if (detection.qemuVersion) lines.push(`  QEMU ${detection.qemuVersion}`);
  for (const d of detection.disagreements) lines.push(`  disagreement: ${d}`);
  for (const w of detection.warnings) lines.push(`  warning: ${w}`);
  return lines.join('\n') + '\n';
}

function sourceFigures(source: { sev?: number; es?: number; tdx?: number; detail?: string }): string {
  const figures = (['sev', 'es', 'tdx'] as const)
    .filter((k) => source[k] !== undefined)
    .map((k) => `${k}=${source[k]}`);
  return `${figures.join(' ') || 'no figures'}${source.detail ? ` (${source.detail})` : ''}`;
}

/** What --once and --dry-run print after the detection: changes, warnings, errors and the outcome. */
export function cycleText(result: CycleResult): string {
  const lines: string[] = [`host ${result.rootName} (${result.rootUuid ?? 'uuid not known'})`];
  const ops = result.dryRun ? result.plan.ops : result.applied;
  const verb = result.dryRun ? 'plan' : 'applied';
  if (ops.length === 0) lines.push(result.dryRun ? 'in sync: nothing to change' : 'no changes');
  else lines.push(`${verb} (${ops.length} change(s)):`, ...ops.map((op) => `  ${describe(op)}`));
  for (const w of result.plan.warnings) lines.push(`warning: ${w}`);
  for (const d of result.drift) lines.push(`drift: ${d}`);
  for (const u of result.unknowns) lines.push(`unknown: ${u} (left as it is)`);
  for (const e of result.errors) lines.push(`error: ${e}`);
  const pending = result.dryRun && result.plan.ops.length > 0 && result.errors.length === 0;
  const said = pending ? `not in sync: ${result.plan.ops.length} change(s) pending` : result.outcome;
  lines.push(`result: ${said} (exit status ${exitStatusOf(result.outcome)})`);
  return lines.join('\n') + '\n';
}

async function runOnce(agent: Agent, config: AgentConfig, out: Out): Promise<number> {
  const started = Date.now();
  const result = await agent.runCycle({ dryRun: config.dryRun });
  out(detectionText(result.detection));
  out(cycleText(result));
  agent.logSummary(result, Date.now() - started);
  return exitStatusOf(result.outcome);
}

function status(config: AgentConfig, out: Out, err: Out): number {
  const file = config.statusFile!;
  const current = readStatus(file);
  if (!current) {
    err(`emplace-agent: no status in ${file} yet (has the agent run a cycle?)\n`);
    return EXIT_UNKNOWN;
  }
  out(renderStatusTable(current));
  return exitStatusOf(current.lastCycle.outcome);
}

export interface MainIo {
  out?: Out;
  err?: Out;
}

export async function main(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  io: MainIo = {},
): Promise<number> {
  const out = io.out ?? ((text: string) => void process.stdout.write(text));
  const err = io.err ?? ((text: string) => void process.stderr.write(text));
  let loaded;
  try {
    loaded = loadAgentConfig({ argv, env });
  } catch (error) {
    if (!(error instanceof AgentConfigError)) throw error;
    err(`emplace-agent: ${error.message}\nTry 'emplace-agent --help'.\n`);
    return EXIT_CONFIG;
  }
  if (loaded.help) return (out(helpText()), EXIT_IN_SYNC);
  if (loaded.version) return (out(`emplace-agent ${agentVersion()}\n`), EXIT_IN_SYNC);
  const { config } = loaded;
  if (!levelKnown(config.logLevel)) {
    err(`emplace-agent: logLevel must be debug, info, warn, error or silent, got ${JSON.stringify(config.logLevel)}\n`);
    return EXIT_CONFIG;
  }
  if (loaded.command === 'status') return status(config, out, err);
  if (config.printConfig) return (out(JSON.stringify(redactedConfig(config), null, 2) + '\n'), EXIT_IN_SYNC);
  if (config.printDetection) return (out(JSON.stringify(detect(config), replacer, 2) + '\n'), EXIT_IN_SYNC);
  // Logs go to stderr so the output on stdout stays clean.
  const logger = jsonLogger(config.logLevel, err);
  for (const note of loaded.overrides) logger.info({ setting: note }, note);
  for (const warning of loaded.warnings) logger.warn({ warning }, warning);
  const agent = new Agent(config, logger);
  if (config.once || config.dryRun) return runOnce(agent, config, out);
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'stopping after the current cycle');
      controller.abort();
    });
  }
  logger.info(
    {
      version: agentVersion(),
      url: config.url,
      auth: authMode(config),
      layout: config.layout,
      hostRoot: config.hostRoot,
      intervalSeconds: config.intervalSeconds,
    },
    'emplace-agent starting',
  );
  await agent.run(controller.signal);
  return EXIT_IN_SYNC;
}

/** Sets print as lists in --print-detection. */
function replacer(_key: string, value: unknown): unknown {
  return value instanceof Set ? [...value] : value;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`emplace-agent: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exit(EXIT_INTERNAL);
    },
  );
}
