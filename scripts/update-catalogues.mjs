#!/usr/bin/env node
// Regenerates src/catalogue/standard-resource-classes.json and
// src/catalogue/standard-traits.json from local checkouts of the OpenStack
// os-resource-classes and os-traits projects.
//
// Usage:
//   node scripts/update-catalogues.mjs --os-traits DIR --os-resource-classes DIR [--check] [--force]
//
//   --check  compare only; exit 1 if the JSON files are out of date.
//   --force  accept a resource class list that is not an append-only
//            extension of the current one (ids are list indexes, so this is
//            normally a mistake, e.g. pointing at an older checkout).
//
// Names are read by running python3 against the checkout itself, so the
// catalogue follows exactly what the Python packages expose. The recorded
// source is `git describe --tags --dirty` of each checkout.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CATALOGUE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'catalogue');
const RC_FILE = path.join(CATALOGUE_DIR, 'standard-resource-classes.json');
const TRAITS_FILE = path.join(CATALOGUE_DIR, 'standard-traits.json');

// Python snippets. Each receives the checkout directory as argv[1] and prints
// one JSON document on stdout. They run with -I (ignore PYTHONPATH, user site
// and cwd, so an installed copy cannot shadow the checkout) and -B (no
// __pycache__ written into the checkout).

const PY_RESOURCE_CLASSES = String.raw`
import json, os, sys
root = os.path.realpath(sys.argv[1])
sys.path.insert(0, root)
import os_resource_classes as orc
if not os.path.realpath(orc.__file__).startswith(root + os.sep):
    sys.exit('os_resource_classes was not loaded from %s' % root)
print(json.dumps(list(orc.STANDARDS)))
`;

const PY_TRAITS = String.raw`
import importlib, json, os, pkgutil, sys, types
root = os.path.realpath(sys.argv[1])
sys.path.insert(0, root)

# os_traits imports pbr only to report its own version. Provide a minimal
# in-memory stand-in so extraction does not need pbr installed.
class _Version:
    def __init__(self, *args, **kwargs): pass
    def version_string(self): return '0'
    release_string = version_string
pbr = types.ModuleType('pbr')
pbr.version = types.ModuleType('pbr.version')
pbr.version.VersionInfo = _Version
sys.modules['pbr'] = pbr
sys.modules['pbr.version'] = pbr.version

import os_traits
if not os.path.realpath(os_traits.__file__).startswith(root + os.sep):
    sys.exit('os_traits was not loaded from %s' % root)

# Independent derivation: every non-test module under os_traits may define a
# TRAITS list of short names; the full name is the module path below
# os_traits, upper-cased and joined with '_', plus '_' and the short name
# (os_traits.hw.cpu.x86.amd + SEV -> HW_CPU_X86_AMD_SEV).
derived = set()
def visit(package):
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + '.'):
        parts = info.name.split('.')
        if parts[1] == 'tests':
            continue
        module = importlib.import_module(info.name)
        prefix = '_'.join(p.upper() for p in parts[1:])
        for short in getattr(module, 'TRAITS', []):
            derived.add(prefix + '_' + short.upper())
        if info.ispkg:
            visit(module)
visit(os_traits)

# Cross-check against the package's own public listing when it has one.
if hasattr(os_traits, 'get_traits'):
    listed = set(os_traits.get_traits())
    if listed != derived:
        sys.exit('trait derivation mismatch; only derived: %s; only listed: %s'
                 % (sorted(derived - listed), sorted(listed - derived)))
print(json.dumps(sorted(derived)))
`;

function die(message) {
  console.error(`update-catalogues: ${message}`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { osTraits: undefined, osResourceClasses: undefined, check: false, force: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) die(`${arg} needs a directory`);
      return v;
    };
    if (arg === '--os-traits') opts.osTraits = value();
    else if (arg === '--os-resource-classes') opts.osResourceClasses = value();
    else if (arg === '--check') opts.check = true;
    else if (arg === '--force') opts.force = true;
    else die(`unknown argument ${arg}`);
  }
  if (!opts.osTraits || !opts.osResourceClasses) {
    die('usage: update-catalogues.mjs --os-traits DIR --os-resource-classes DIR [--check] [--force]');
  }
  return opts;
}

function run(cmd, args) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (res.error) die(`${cmd}: ${res.error.message}`);
  if (res.status !== 0) die(`${cmd} ${args.slice(0, 2).join(' ')} failed:\n${res.stderr.trim()}`);
  return res.stdout;
}

function describe(dir) {
  return run('git', ['-C', dir, 'describe', '--tags', '--dirty']).trim();
}

function extract(dir, pythonCode) {
  if (!existsSync(dir)) die(`no such directory: ${dir}`);
  return JSON.parse(run('python3', ['-I', '-B', '-c', pythonCode, path.resolve(dir)]));
}

// Both catalogues must be plain upper-case names, unique, and never CUSTOM_.
function validateNames(kind, names) {
  if (!Array.isArray(names) || names.length === 0) die(`${kind}: empty list`);
  const seen = new Set();
  for (const name of names) {
    if (typeof name !== 'string' || !/^[A-Z0-9_]+$/.test(name)) die(`${kind}: bad name ${JSON.stringify(name)}`);
    if (name.startsWith('CUSTOM_')) die(`${kind}: standard name in custom namespace: ${name}`);
    if (seen.has(name)) die(`${kind}: duplicate ${name}`);
    seen.add(name);
  }
}

function readExisting(file, key) {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8'))[key];
}

function render(doc) {
  return JSON.stringify(doc, null, 2) + '\n';
}

function diffSummary(label, before = [], after) {
  const b = new Set(before);
  const a = new Set(after);
  const added = after.filter((n) => !b.has(n));
  const removed = before.filter((n) => !a.has(n));
  console.log(`${label}: ${after.length} names (+${added.length} -${removed.length})`);
  for (const n of added) console.log(`  + ${n}`);
  for (const n of removed) console.log(`  - ${n}`);
}

const opts = parseArgs(process.argv.slice(2));

const resourceClasses = extract(opts.osResourceClasses, PY_RESOURCE_CLASSES);
const traits = extract(opts.osTraits, PY_TRAITS);
validateNames('resource classes', resourceClasses);
validateNames('traits', traits);
if (resourceClasses[0] !== 'VCPU') die('resource classes: expected VCPU first');

// A resource class's id is its index, so an update may only append.
const oldClasses = readExisting(RC_FILE, 'resourceClasses');
if (oldClasses && !opts.force) {
  const mismatch = oldClasses.findIndex((name, i) => resourceClasses[i] !== name);
  if (mismatch !== -1) {
    die(
      `resource classes are not append-only at index ${mismatch} ` +
        `(${oldClasses[mismatch]} -> ${resourceClasses[mismatch] ?? 'missing'}); use --force if intended`,
    );
  }
}

const outputs = [
  [RC_FILE, render({ source: `os-resource-classes ${describe(opts.osResourceClasses)}`, resourceClasses })],
  [TRAITS_FILE, render({ source: `os-traits ${describe(opts.osTraits)}`, traits })],
];

diffSummary('resource classes', oldClasses, resourceClasses);
diffSummary('traits', readExisting(TRAITS_FILE, 'traits'), traits);

if (opts.check) {
  const stale = outputs.filter(([file, text]) => !existsSync(file) || readFileSync(file, 'utf8') !== text);
  for (const [file] of stale) console.error(`out of date: ${path.relative(process.cwd(), file)}`);
  process.exit(stale.length === 0 ? 0 : 1);
}
for (const [file, text] of outputs) {
  writeFileSync(file, text);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
