import { notImplemented } from './not-implemented';

export const listProviderUsages = notImplemented;
export const getTotalUsages = notImplemented;
