import type { BuildEvent } from '../events/build-event.generated.js';

/**
 * The version of each event's shape as Concourse numbers it (atc/event/events.go), sent with every
 * event so clients written for Concourse's stream parse ours. Events Concourse has no own type
 * for (set_pipeline and load_var steps) start at 1.0. A new event type fails to compile here
 * until it has a version.
 */
export const kEventVersions: Readonly<Record<BuildEvent['event'], string>> = {
  status: '1.0',
  log: '5.1',
  error: '4.1',
  initialize: '1.0',
  'initialize-task': '4.0',
  'start-task': '5.0',
  'finish-task': '4.0',
  'initialize-get': '2.0',
  'start-get': '1.0',
  'finish-get': '5.1',
  'initialize-put': '2.0',
  'start-put': '1.0',
  'finish-put': '5.1',
  'initialize-set-pipeline': '1.0',
  'start-set-pipeline': '1.0',
  'finish-set-pipeline': '1.0',
  'initialize-load-var': '1.0',
  'start-load-var': '1.0',
  'finish-load-var': '1.0',
};
