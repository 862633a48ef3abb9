import { notImplemented } from './not-implemented';

export const getAggregates = notImplemented;
export const setAggregates = notImplemented;
