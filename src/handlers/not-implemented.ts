import { HttpError } from '../errors/http-error';

/** Placeholder for a handler whose issue has not landed yet. */
export async function notImplemented(): Promise<void> {
  throw new HttpError(501, 'Not implemented yet.');
}
