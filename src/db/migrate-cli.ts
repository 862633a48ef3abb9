import { loadConfig } from '../config';
import { openDatabase } from './database';

/** `npm run migrate`: apply migrations (and sync the standard catalogue), then exit. */
openDatabase(loadConfig(), () => undefined, 'apply')
  .then(async (database) => {
    await database.close();
    console.log('migrations applied');
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
