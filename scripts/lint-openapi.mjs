#!/usr/bin/env node
// `redocly lint openapi.yaml` with Redocly's own engine (@redocly/openapi-core, the library @redocly/cli runs):
// the recommended rules, the deliberate findings in .redocly.lint-ignore.yaml skipped. Exits 1 on any error.
import { formatProblems, lint, loadConfig } from '@redocly/openapi-core';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const ref = 'openapi.yaml';
const config = await loadConfig({ configPath: undefined });
const problems = await lint({ ref, config });
// The ignore file maps file -> rule -> JSON pointers, as `redocly lint --generate-ignore-file` writes it.
const ignored = parse(readFileSync('.redocly.lint-ignore.yaml', 'utf8')) ?? {};
const remaining = problems.filter((problem) => {
  const location = problem.location[0];
  const file = location?.source?.absoluteRef?.replace(`${process.cwd()}/`, '');
  return !(ignored[file]?.[problem.ruleId] ?? []).includes(location?.pointer);
});
formatProblems(remaining, { format: 'stylish', totals: { errors: 0, warnings: 0, ignored: 0 }, version: 'lint' });
const errors = remaining.filter((problem) => problem.severity === 'error');
console.log(`${ref}: ${errors.length} errors, ${remaining.length - errors.length} warnings`);
process.exit(errors.length > 0 ? 1 : 0);
