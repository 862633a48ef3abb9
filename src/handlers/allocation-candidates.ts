import { notImplemented } from './not-implemented';

export const listAllocationCandidates = notImplemented;
