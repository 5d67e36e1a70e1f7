import { Readable } from 'node:stream';
import { toError } from '../../errors/index.js';
import type { PluginClient } from '../../plugins/index.js';

/*
 * Tar streams into and out of a volume, through the volume plugin's streamIn and streamOut.
 */

/**
 * Extracts the tar `stream` into the volume as it arrives. Rejects when the stream errors (the
 * client went away, the upload went over the limit) with the stream's error, after cancelling the
 * plugin call, and when `signal` aborts.
 */
export async function streamIntoVolume(
  volumes: PluginClient<'volume'>,
  handle: string,
  stream: Readable,
  signal: AbortSignal,
): Promise<void> {
  const call = new AbortController();
  const onAbort = () => call.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  // The host pumps this iterable into the plugin and does not expect it to throw: a failing stream
  // ends the iteration, cancels the call, and its error is the upload's.
  let failure: { error: unknown } | undefined;
  async function* chunks(): AsyncGenerator<Uint8Array> {
    try {
      for await (const chunk of stream) {
        yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
      }
    } catch (error: unknown) {
      failure = { error };
      call.abort(error);
    }
  }
  try {
    await volumes.call('streamIn', { handle }, { input: chunks(), signal: call.signal });
  } catch (error: unknown) {
    throw failure === undefined ? error : toError(failure.error);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  // A cancelled plugin may still have answered; what it extracted is incomplete all the same.
  if (failure !== undefined) throw toError(failure.error);
  signal.throwIfAborted();
}

/**
 * The volume as a tar stream. Bytes flow as the plugin packs them; destroying the stream (or
 * aborting `signal`) cancels the plugin call, and a failed call errors the stream.
 */
export function streamOutOfVolume(
  volumes: PluginClient<'volume'>,
  handle: string,
  signal: AbortSignal,
): Readable {
  const call = new AbortController();
  const tar = new Readable({
    // The plugin pushes; there is nothing to pull.
    read() {},
    destroy(error, callback) {
      call.abort();
      callback(error);
    },
  });
  const onAbort = () => tar.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  volumes
    .call(
      'streamOut',
      { handle },
      { signal: call.signal, onData: (chunk) => tar.destroyed || tar.push(chunk) },
    )
    .then(
      () => {
        if (!tar.destroyed) tar.push(null);
      },
      (error: unknown) => tar.destroy(toError(error)),
    )
    .finally(() => signal.removeEventListener('abort', onAbort));
  return tar;
}
