/** Name patterns and numeric limits Placement's schemas use (placement/schemas/common.py and friends). */
export const RC_PATTERN = '^[A-Z0-9_]+$';
export const CUSTOM_RC_PATTERN = '^CUSTOM_[A-Z0-9_]+$';
export const CUSTOM_TRAIT_PATTERN = CUSTOM_RC_PATTERN;

/** Largest inventory field or allocation amount: they are 32-bit integer columns (Placement's MAX_INT). */
export const MAX_INT = 2147483647;
/** Largest allocation ratio: a single-precision float in Placement's database. */
export const MAX_ALLOCATION_RATIO = 3.40282e38;
