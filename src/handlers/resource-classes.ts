import { notImplemented } from './not-implemented';

export const listResourceClasses = notImplemented;
export const createResourceClass = notImplemented;
export const getResourceClass = notImplemented;
export const updateResourceClass = notImplemented;
export const deleteResourceClass = notImplemented;
