import { describeImportFrom } from './import-placement-scenario';

// Placement on PostgreSQL: see import-placement-scenario.ts.
describeImportFrom('postgresql');
