export { buildLabel, type ListingFlags, listingFlags, listingQuery, stepLabel } from './filters.js';
