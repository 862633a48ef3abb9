import type { Db, Tx } from '../db/knex';
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
    await assertClassIdsMatchCatalogue(tx);
  });
}

/**
 * A catalogue update that inserted a class mid-list (instead of appending) would shift ids and be
 * silently half-applied by ON CONFLICT; refuse to start instead of serving wrong ids.
 */
async function assertClassIdsMatchCatalogue(tx: Tx): Promise<void> {
  const result = await tx.raw(
    `SELECT c.name, c.ordinality - 1 AS expected, rc.id AS actual
       FROM unnest(?::text[]) WITH ORDINALITY AS c(name)
       LEFT JOIN resource_classes rc ON rc.name = c.name
      WHERE rc.id IS DISTINCT FROM c.ordinality - 1`,
    [STANDARD_RESOURCE_CLASSES as string[]],
  );
  if (result.rows.length > 0) {
    const found = result.rows.map(
      (row: { name: string; expected: number; actual: number | null }) =>
        `${row.name} (id ${row.actual}, catalogue ${row.expected})`,
    );
    throw new Error(
      `standard resource classes do not match the catalogue order; the catalogue must only grow at its end: ${found.join(', ')}`,
    );
  }
}
