import { notImplemented } from './not-implemented';

export const getInventories = notImplemented;
export const createInventory = notImplemented;
export const setInventories = notImplemented;
export const deleteInventories = notImplemented;
export const getInventory = notImplemented;
export const updateInventory = notImplemented;
export const deleteInventory = notImplemented;
