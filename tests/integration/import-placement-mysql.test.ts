import { describeImportFrom } from './import-placement-scenario';

// Placement on MariaDB (its usual backend): see import-placement-scenario.ts.
describeImportFrom('mysql');
