import { parseArgs } from 'node:util';
import { compareReads, isPlacementFailure, type Difference, type Endpoint } from '../import/compare';
import { discoverReads, latestVersion, requestsFor } from '../import/compare-reads';
import { EXIT_FAILED, EXIT_OK, type CliIo } from './run-cli';

const USAGE =
  'usage: emplace compare-placement --placement URL --emplace URL [--token TOKEN | --placement-token TOKEN --emplace-token TOKEN] [--versions 1.0,1.14,latest]';
/** Long bodies are cut in the report; the request names where to look. */
const SHOWN = 400;

/**
 * `emplace compare-placement`: every read of Placement's data, at several microversions, sent to
 * both services; exit 0 when every answer is the same, 1 when any differs (each one printed).
 */
export async function runCompareCommand(argv: string[], io: CliIo): Promise<number> {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        placement: { type: 'string' },
        emplace: { type: 'string' },
        token: { type: 'string' },
        'placement-token': { type: 'string' },
        'emplace-token': { type: 'string' },
        versions: { type: 'string' },
      },
    }));
  } catch (error) {
    io.err(`emplace compare-placement: ${(error as Error).message}\n${USAGE}`);
    return EXIT_FAILED;
  }
  if (!values.placement || !values.emplace) {
    io.err(`emplace compare-placement: --placement and --emplace are required\n${USAGE}`);
    return EXIT_FAILED;
  }
  const placement: Endpoint = { url: values.placement, token: values['placement-token'] ?? values.token ?? 'admin' };
  const emplace: Endpoint = { url: values.emplace, token: values['emplace-token'] ?? values.token ?? 'admin' };
  const since = new Date();
  let latest: string;
  let reads;
  try {
    latest = await latestVersion(placement);
    reads = await discoverReads(placement);
  } catch (error) {
    io.err(`emplace compare-placement: cannot read Placement at ${placement.url}: ${(error as Error).message}`);
    return EXIT_FAILED;
  }
  const versions = values.versions?.split(',').map((version) => (version === 'latest' ? latest : version));
  const requests = requestsFor(reads, latest, versions);
  const all = await compareReads(placement, emplace, requests, since);
  const failures = all.filter((d) => isPlacementFailure(d, all));
  const differences = all.filter((d) => !isPlacementFailure(d, all));
  const at = versions ? versions.join(', ') : `their first version, where they change, and ${latest}`;
  io.out(`compared ${requests.length} reads (${reads.length} paths at ${at})`);
  const failed = new Set(failures.map((d) => d.request));
  if (failed.size > 0)
    io.out(`Placement failed ${failed.size} of them with 500 (a Placement fault; Emplace's answers are not compared):`);
  for (const request of failed) io.out(`  ${request}`);
  if (differences.length === 0) {
    io.out('no differences');
    return EXIT_OK;
  }
  io.out(`${differences.length} difference(s):`);
  for (const difference of differences) io.out(describe(difference));
  return EXIT_FAILED;
}

function describe({ request, what, placement, emplace }: Difference): string {
  const show = (value: unknown) => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return text.length > SHOWN ? `${text.slice(0, SHOWN)}...` : text;
  };
  return `  ${request}: ${what}\n    placement: ${show(placement)}\n    emplace:   ${show(emplace)}`;
}
