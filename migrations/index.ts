import type { Knex } from 'knex';
import * as m0001 from './0001_create_schema';
import * as m0400 from './0400_candidates_indexes';
import * as m0700 from './0700_heartbeats';
import * as m1400 from './1400_provider_usages';
import * as m1410 from './1410_read_changes';

/**
 * Every migration, in order. Listed explicitly (not discovered on disk) so the same list runs from
 * TypeScript under jest and from compiled JavaScript under `npm start`.
 */
export const MIGRATIONS: ReadonlyArray<readonly [name: string, migration: Knex.Migration]> = [
  ['0001_create_schema', m0001],
  ['0400_candidates_indexes', m0400],
  ['0700_heartbeats', m0700],
  ['1400_provider_usages', m1400],
  ['1410_read_changes', m1410],
];
