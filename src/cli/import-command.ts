import { parseArgs } from 'node:util';
import type { Config } from '../config';
import { openDatabase, type Database } from '../db/database';
import { SourceUnreadable, describePlan, importPlacement } from '../import/import-placement';
import { ImportRefused } from '../import/plan-types';
import { PlacementSchemaError } from '../import/read-placement';
import { SourceUrlError, maskUrl } from '../import/source-url';
import { TargetBusy, TargetNotEmpty } from '../import/write-emplace';
import { EXIT_FAILED, EXIT_OK, describeTarget, type CliIo } from './run-cli';

const USAGE = 'usage: emplace import-placement --from URL [--dry-run]';

/** Errors that are the operator's to act on: their message is the whole story, no stack. */
const EXPECTED = [ImportRefused, TargetNotEmpty, TargetBusy, SourceUrlError, PlacementSchemaError, SourceUnreadable];

/** `emplace import-placement --from URL [--dry-run]`. */
export async function runImportCommand(argv: string[], config: Config, io: CliIo): Promise<number> {
  let values: { from?: string; 'dry-run'?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { from: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    }));
  } catch (error) {
    io.err(`emplace import-placement: ${(error as Error).message}\n${USAGE}`);
    return EXIT_FAILED;
  }
  if (!values.from) {
    io.err(`emplace import-placement: --from is required\n${USAGE}`);
    return EXIT_FAILED;
  }
  const dryRun = values['dry-run'] === true;
  let database: Database;
  try {
    // A dry run changes nothing, not even the schema; a real one migrates as the service would.
    database = await openDatabase(config, () => undefined, dryRun ? 'none' : undefined);
  } catch (error) {
    io.err(`emplace import-placement: cannot open ${describeTarget(config)}: ${(error as Error).message}`);
    return EXIT_FAILED;
  }
  io.out(`from Placement: ${maskUrl(values.from)}`);
  io.out(`into Emplace:   ${describeTarget(config)}`);
  try {
    const result = await importPlacement({
      from: values.from,
      db: database.db,
      dryRun,
      incompleteProjectId: config.incompleteConsumerProjectId,
      incompleteUserId: config.incompleteConsumerUserId,
    });
    io.out(`Placement schema revision ${result.plan.notes.revision}; ${dryRun ? 'would copy' : 'copied'}:`);
    for (const line of describePlan(result.plan)) io.out(line);
    if (!dryRun) {
      io.out('imported in one transaction');
      return EXIT_OK;
    }
    if (result.existing.length > 0) {
      io.out(`dry run: nothing written; a real run would be refused: ${new TargetNotEmpty(result.existing).message}`);
      return EXIT_FAILED;
    }
    io.out('dry run: nothing written');
    return EXIT_OK;
  } catch (error) {
    if (EXPECTED.some((kind) => error instanceof kind)) {
      io.err(`emplace import-placement: ${(error as Error).message}`);
      return EXIT_FAILED;
    }
    throw error;
  } finally {
    await database.close();
  }
}
