import type { Db } from '../db/knex';
import { STANDARD_RESOURCE_CLASSES, STANDARD_TRAITS } from '../catalogue/catalogue';

/**
 * Make the standard resource classes and traits rows in the database, as Placement does at start.
 * Standard classes keep their catalogue index as id, so ids never change between releases.
 * Idempotent and safe to run from several replicas at once.
 */
export async function syncStandardCatalogue(db: Db): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.raw(
      `INSERT INTO resource_classes (id, name)
       SELECT ordinality - 1, name FROM unnest(?::text[]) WITH ORDINALITY AS c(name)
       ON CONFLICT DO NOTHING`,
      [STANDARD_RESOURCE_CLASSES as string[]],
    );
    await tx.raw(
      // In catalogue order, so trait ids (the order provider summaries list traits in) follow it.
      `INSERT INTO traits (name) SELECT name FROM unnest(?::text[]) WITH ORDINALITY AS t(name, n) ORDER BY n
       ON CONFLICT (name) DO NOTHING`,
      [STANDARD_TRAITS as string[]],
    );
  });
}
