import { notImplemented } from './not-implemented';

export const listForResourceProvider = notImplemented;
export const setAllocations = notImplemented;
export const listForConsumer = notImplemented;
export const setAllocationsForConsumer = notImplemented;
export const deleteAllocations = notImplemented;
