#!/usr/bin/env node
import { runAsProcess } from './run-cli';

/** `emplace-token ...` is `emplace token ...`, under the name the docs give it. */
runAsProcess('emplace-token', ['token', ...process.argv.slice(2)], 'message');
