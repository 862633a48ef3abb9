#!/usr/bin/env node
// Prints the figures issue 12's closing note compares: inline HTTP error constructions, files that parse the
// provider query language, and the longest files and functions under src/ (function length by brace matching).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts')) files.push(path);
  }
})('src');

const inline = /\b(badRequest|conflict|notFound|forbidden)\(|new HttpError\(/g;
let constructions = 0;
const constructingFiles = [];
for (const file of files) {
  if (file === 'src/errors/http-error.ts') continue;
  const count = (readFileSync(file, 'utf8').match(inline) ?? []).length;
  constructions += count;
  if (count > 0) constructingFiles.push(file);
}
const WORDING = 'src/http/domain-errors.ts';
const inWording = (readFileSync(WORDING, 'utf8').match(inline) ?? []).length;
console.log(`inline HTTP error constructions: ${constructions} in ${constructingFiles.length} files`);
console.log(`  of which in the domain-error wording table (${WORDING}): ${inWording}`);
const layered = files.filter(
  (f) => /^src\/(repo|candidates)\//.test(f) && /from '\.\.\/errors\/http-error'/.test(readFileSync(f, 'utf8')),
);
console.log(`src/repo + src/candidates files importing the HTTP error type: ${layered.length}`);

// A file parses or resolves the query language when it defines one of its parsers or resolvers.
const queryLanguage =
  /function (parseMemberOfParams?|parseTraitParams?|parseResourcesParam|parseCandidatesRequest|parseProviderListQuery|validateCandidatesQuery|resolveRequest|resolveProviderList|buildListFilter|resolveFilter|resolveTraits|resolveAggregates)\b/;
const parsers = files.filter(
  (f) => !f.startsWith('src/handlers/allocation-candidates') && queryLanguage.test(readFileSync(f, 'utf8')),
);
const folders = new Set(parsers.map((f) => f.split('/').slice(0, -1).join('/')));
console.log(
  `files parsing/resolving the provider query language: ${parsers.length} in ${folders.size} folders (${parsers.join(', ')})`,
);

const sizes = files.map((f) => [readFileSync(f, 'utf8').split('\n').length, f]).sort((a, b) => b[0] - a[0]);
console.log(
  'longest files:',
  sizes
    .slice(0, 5)
    .map(([n, f]) => `${f} ${n}`)
    .join(', '),
);

const functions = [];
for (const file of files) {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const m = /^\s*(export )?(async )?(function\*? (\w+)|(const|let) (\w+) = (async )?\(.*=>\s*\{$)/.exec(line);
    if (!m) return;
    let depth = 0;
    for (let j = i; j < lines.length; j++) {
      depth += (lines[j].match(/\{/g) ?? []).length - (lines[j].match(/\}/g) ?? []).length;
      if (depth <= 0 && j > i) {
        functions.push([j - i + 1, `${file}:${i + 1} ${m[4] ?? m[6]}`]);
        break;
      }
    }
  });
}
functions.sort((a, b) => b[0] - a[0]);
console.log(
  'longest functions:',
  functions
    .slice(0, 5)
    .map(([n, f]) => `${f} ${n}`)
    .join(', '),
);
console.log(`functions over 40 lines: ${functions.filter(([n]) => n > 40).length} of ${functions.length}`);
