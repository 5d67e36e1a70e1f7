/**
 * @conveyor/core/events: build event streams. Events are appended under consecutive per-build ids
 * and announced with NOTIFY; readers read them back, subscribers follow them live over one shared
 * LISTEN connection per source.
 */

export { BUILD_EVENTS_CHANNEL } from '../db/index.js';
export { type AppendedEvents, appendEvents } from './append-events.js';
export type {
  BuildEvent,
  BuildStatus,
  ErrorEvent,
  FinishStepEvent,
  LogEvent,
  Origin,
  StatusEvent,
  StepEvent,
} from './build-event.generated.js';
export { BuildEventHub, type EventSource, type Wakeup } from './event-hub.js';
export { type BuildEventWriter, createBuildEventWriter } from './event-writer.js';
export { readEvents, type StoredBuildEvent } from './read-events.js';
export { closeBuildEventSubscriptions, type SubscribeOptions, subscribeToBuildEvents } from './subscribe.js';
