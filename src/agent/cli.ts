#!/usr/bin/env node
import pino from 'pino';
import { AgentConfigError, loadAgentConfig, type AgentConfig } from './config';
import { detect } from './detectors/detect';
import { Agent, describe } from './loop';

const USAGE = `usage: emplace-agent [--config FILE] [--url URL] [--token TOKEN | --token-file FILE] [--roles ROLE,...]
                     [--host-root DIR] [--state-dir DIR] [--layout root|nested] [--once] [--dry-run] [--print-detection]
Every setting is also a config file key (camelCase or snake_case) and an EMPLACE_* environment variable
(EMPLACE_HOST_ROOT, EMPLACE_LAYOUT, ...); precedence: defaults < file < flags < env.
Exit status with --once / --dry-run: 0 in sync, 2 not in sync (or the cycle failed), 1 bad configuration.`;

export const EXIT_IN_SYNC = 0;
export const EXIT_CONFIG = 1;
export const EXIT_NOT_IN_SYNC = 2;

function printDetection(config: AgentConfig): number {
  process.stdout.write(JSON.stringify(detect(config), null, 2) + '\n');
  return EXIT_IN_SYNC;
}

async function runOnce(agent: Agent, dryRun: boolean): Promise<number> {
  const started = Date.now();
  try {
    const result = await agent.runCycle({ dryRun });
    if (dryRun) {
      const lines = result.plan.ops.map((op) => `  ${describe(op)}`);
      process.stdout.write(
        `${lines.length === 0 ? 'in sync: nothing to change' : `plan (${lines.length} change(s)):\n${lines.join('\n')}`}\n`,
      );
      for (const warning of result.plan.warnings) process.stdout.write(`warning: ${warning}\n`);
    }
    agent.logSummary(result, Date.now() - started);
    return result.inSync ? EXIT_IN_SYNC : EXIT_NOT_IN_SYNC;
  } catch (error) {
    process.stderr.write(`emplace-agent: cycle failed: ${(error as Error).message}\n`);
    return EXIT_NOT_IN_SYNC;
  }
}

export async function main(argv: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE + '\n');
    return EXIT_IN_SYNC;
  }
  let config: AgentConfig;
  try {
    config = loadAgentConfig({ argv, env });
  } catch (error) {
    if (!(error instanceof AgentConfigError)) throw error;
    process.stderr.write(`emplace-agent: ${error.message}\n${USAGE}\n`);
    return EXIT_CONFIG;
  }
  if (config.printDetection) return printDetection(config);
  // Logs go to stderr so --dry-run output on stdout stays clean.
  const logger = pino({ level: config.logLevel, base: { service: 'emplace-agent' } }, pino.destination(2));
  const agent = new Agent(config, logger);
  if (config.once || config.dryRun) return runOnce(agent, config.dryRun);
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'stopping after the current cycle');
      controller.abort();
    });
  }
  logger.info(
    { url: config.url, layout: config.layout, hostRoot: config.hostRoot, intervalSeconds: config.intervalSeconds },
    'emplace-agent starting',
  );
  await agent.run(controller.signal);
  return EXIT_IN_SYNC;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`emplace-agent: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exit(EXIT_CONFIG);
    },
  );
}
