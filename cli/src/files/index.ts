export { readTextFile, replaceTextFile, systemReason } from './text-files.js';
