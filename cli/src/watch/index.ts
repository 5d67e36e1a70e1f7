export {
  type BuildEventMessage,
  BuildEventRenderer,
  exitCodeOf,
  type FinishedStatus,
  isFinished,
} from './render-events.js';
export { readSse, type SseClientOptions, type SseOpen, SseStreamClosed } from './sse-client.js';
export { type SseMessage, SseParser } from './sse-parser.js';
export { type WatchOptions, type WatchOutcome, watchBuild } from './watch-build.js';
