import type { Knex } from 'knex';
import { parseCandidatesRequest } from '../src/provider-query/request-groups';
import { resolveRequest } from '../src/provider-query/resolve';
import { classNames, fetchSharingTrees, rootsQuery, sharingHelp, treesQuery } from '../src/candidates/tree-query';
import { Microversion } from '../src/microversion/microversion';

/** EXPLAIN ANALYZE of the statement the engine sends for a query string (first batch). */
export async function explainCandidates(db: Knex, queryString: string, batch: number): Promise<string> {
  const entries = new Map<string, string[]>();
  for (const [key, value] of new URLSearchParams(queryString)) entries.set(key, [...(entries.get(key) ?? []), value]);
  const request = parseCandidatesRequest(entries, Microversion.fromKnown('1.39'));
  const resolved = await resolveRequest(db, request);
  const sharingTrees = await fetchSharingTrees(db, resolved.sharingProviderIds, await classNames(db));
  const sharing = [...sharingTrees.values()].flat().filter((p) => resolved.sharingProviderIds.includes(p.id));
  const statement = treesQuery(db, rootsQuery(db, resolved, sharingHelp(resolved, sharing), 0, batch)).toSQL();
  const plan = await db.raw(
    `EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) ${statement.sql}`,
    statement.bindings as never,
  );
  return `${statement.sql}\n\n${plan.rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')}`;
}
