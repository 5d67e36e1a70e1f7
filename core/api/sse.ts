import type { ServerResponse } from 'node:http';
import { kEventVersions } from './event-versions.js';
import type { BuildEventMessage } from './generated/build-event-message.generated.js';
import type { BuildEventRecord } from './services.js';

/*
 * The wire format of a build's event stream, as Concourse writes it (atc/api/buildserver): every
 * event is `event: event` with the event's index as `id:` and `{ event, version, data }` as JSON
 * on one `data:` line; a finished build ends with `event: end`; comment lines keep idle
 * connections alive through proxies.
 */

export const kSseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-store, must-revalidate',
  // nginx buffers responses unless told otherwise, which would hold events back.
  'x-accel-buffering': 'no',
} as const;

export function eventMessage(record: BuildEventRecord): string {
  const message: BuildEventMessage = {
    event: record.event.event,
    version: kEventVersions[record.event.event],
    data: record.event.data,
  };
  // JSON.stringify escapes newlines, so the data is always one line.
  return `id: ${record.id}\nevent: event\ndata: ${JSON.stringify(message)}\n\n`;
}

/** `id` is the index the next event would have had, as Concourse sends it. */
export function endMessage(id: number): string {
  // An empty `data:` line still dispatches the event in EventSource clients; no data line would not.
  return `id: ${id}\nevent: end\ndata: \n\n`;
}

export const kHeartbeatMessage = ': heartbeat\n\n';

/**
 * Writes a chunk and waits while the socket's buffer is full, so a slow client slows the stream
 * down instead of growing the server's memory. Resolves false once the client has gone away.
 */
export function writeSse(raw: ServerResponse, chunk: string): Promise<boolean> {
  if (raw.destroyed || raw.writableEnded) return Promise.resolve(false);
  if (raw.write(chunk)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const settle = () => {
      raw.off('drain', settle);
      raw.off('close', settle);
      resolve(!raw.destroyed);
    };
    raw.on('drain', settle);
    raw.on('close', settle);
  });
}
