/** Short names for the generated wire types, so handlers read `Schemas['ResourceProvider']`. */
import type { components } from './generated/placement';

export type Schemas = components['schemas'];
