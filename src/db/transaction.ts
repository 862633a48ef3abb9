import type { Db, Tx } from './knex';
import { isRetryableTransactionError, pgErrorCode } from '../errors/pg-errors';
import { countTransactionRetry } from '../metrics/metrics';

const MAX_ATTEMPTS = 5;

/**
 * Run `work` in one transaction, retrying on serialization failure or deadlock. `work` must be
 * safe to run again: it may not make network calls or keep state outside the transaction.
 */
export async function withTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(work);
    } catch (error) {
      if (attempt >= MAX_ATTEMPTS || !isRetryableTransactionError(error)) throw error;
      countTransactionRetry(pgErrorCode(error) ?? 'unknown');
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}
