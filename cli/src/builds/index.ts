export { findBuild, parseBuildId } from './find-build.js';
