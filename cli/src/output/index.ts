export { type Column, renderTable } from './table.js';
