export { findVersion } from './find-version.js';
export { setVersionEnabled } from './set-version-enabled.js';
