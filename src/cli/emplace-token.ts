#!/usr/bin/env node
import { runCli } from './run-cli';

/** `emplace-token ...` is `emplace token ...`, under the name the docs give it. */
runCli(['token', ...process.argv.slice(2)], {
  env: process.env,
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`emplace-token: ${(error as Error)?.message ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
