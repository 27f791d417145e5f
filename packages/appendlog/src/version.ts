/** The library version recorded in the schema history. */
export const LIBRARY_VERSION = '0.1.0';
