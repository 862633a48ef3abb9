#!/usr/bin/env node
import { runAsProcess } from './run-cli';

/** `emplace`: operator commands beside the service (import from Placement, migration status, tokens). */
runAsProcess('emplace', process.argv.slice(2), 'stack');
