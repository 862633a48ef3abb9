#!/usr/bin/env node
import { runCli } from './run-cli';

/** `emplace`: operator commands beside the service (import from Placement, migration status). */
runCli(process.argv.slice(2), {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`emplace: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
