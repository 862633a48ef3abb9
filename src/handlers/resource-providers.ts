import { notImplemented } from './not-implemented';

export const listResourceProviders = notImplemented;
export const createResourceProvider = notImplemented;
export const getResourceProvider = notImplemented;
export const updateResourceProvider = notImplemented;
export const deleteResourceProvider = notImplemented;
