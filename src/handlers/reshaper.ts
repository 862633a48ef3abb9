import { notImplemented } from './not-implemented';

export const reshape = notImplemented;
