export { confirm, isInteractive, requireInteractive, type Terminal } from './confirm.js';
