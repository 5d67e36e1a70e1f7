import { finished, type Readable, Transform } from 'node:stream';
import { ConveyorError } from '../errors/index.js';

export interface LimitedStream {
  /** The source's bytes, which errors once more than the limit have passed. */
  stream: Readable;
  /** Whether the limit was exceeded (the stream then errored with a 413 ConveyorError). */
  exceeded(): boolean;
}

export function payloadTooLarge(limit: number): ConveyorError {
  return new ConveyorError(
    'CC_E_API_PAYLOAD_TOO_LARGE',
    `upload too large: the server accepts at most ${limit} bytes per input; leave large files out of the input directory`,
    { details: { limitBytes: limit } },
  );
}

/**
 * Passes a request body through while counting its bytes, so an upload is streamed to its
 * consumer and never held whole in memory, and stops it at `limit`. The source is not destroyed
 * when the limit trips (that would destroy the socket before the 413 could be sent); it is
 * unpiped and left for the server to discard with the connection. A source that ends early (the
 * client went away) errors the stream, so the consumer never mistakes half an upload for all of it.
 */
export function limitBytes(source: Readable, limit: number): LimitedStream {
  let total = 0;
  let exceeded = false;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      if (total > limit) {
        exceeded = true;
        callback(payloadTooLarge(limit));
        return;
      }
      callback(null, chunk);
    },
  });
  // The consumer may not be reading yet when the client goes away; an 'error' with no listener
  // would crash the process. Consumers still see the error through their own reads.
  limited.on('error', () => {});
  finished(source, (error) => {
    if (error) limited.destroy(error);
  });
  source.pipe(limited);
  return { stream: limited, exceeded: () => exceeded };
}
