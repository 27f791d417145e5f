import { addresses } from './src/tables.js';

// For `appendlog migrate` and `appendlog codegen` (npm run codegen).
export default [addresses];
