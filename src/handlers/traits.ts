import { notImplemented } from './not-implemented';

export const listTraitsForResourceProvider = notImplemented;
export const updateTraitsForResourceProvider = notImplemented;
export const deleteTraitsForResourceProvider = notImplemented;
export const listTraits = notImplemented;
export const getTrait = notImplemented;
export const putTrait = notImplemented;
export const deleteTrait = notImplemented;
