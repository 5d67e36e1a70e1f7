import { randomBytes } from 'node:crypto';
import type { ServiceError } from '@grpc/grpc-js';
import {
  ContainerdCallError,
  type ContainerdClient,
  ignoreNotFound,
  isAlreadyExists,
  isNotFound,
} from './containerd-client.js';
import type { ContentInfo, Labels, WriteContentRequest, WriteContentResponse } from './containerd-types.js';

/** containerd's own client writes in 1 MiB messages; gRPC's default limit is 4 MiB. */
const CHUNK = 1024 * 1024;

/** Content.Info, or undefined when containerd does not have the blob. */
export async function contentInfo(
  client: ContainerdClient,
  digest: string,
): Promise<ContentInfo | undefined> {
  const response = await ignoreNotFound(client.call<{ info: ContentInfo }>('content', 'Info', { digest }));
  return response?.info;
}

/** Set labels on a blob (only those named: the update mask lists each one). */
export async function labelContent(client: ContainerdClient, digest: string, labels: Labels): Promise<void> {
  const paths = Object.keys(labels).map((key) => `labels.${key}`);
  if (!paths.length) return;
  await client.call('content', 'Update', { info: { digest, labels }, update_mask: { paths } });
}

/** A whole blob from the content store. */
export async function readContent(client: ContainerdClient, digest: string): Promise<Buffer> {
  const chunks = await client.collect<{ data: Buffer }>('content', 'Read', { digest });
  return Buffer.concat(chunks.map((c) => c.data));
}

/**
 * Write a blob through Content.Write: WRITE messages from offset 0, then COMMIT with the size and
 * digest we expect, so containerd verifies what it stores. A blob that is already there is only
 * labelled. Each write has its own ref: two workers pulling one image do not lock each other out,
 * and the slower one's commit finds the blob there (ALREADY_EXISTS), which is success.
 */
export async function writeContent(
  client: ContainerdClient,
  expected: { digest: string; size: number },
  source: AsyncIterable<Uint8Array> | Uint8Array,
  labels: Labels = {},
): Promise<void> {
  if (await contentInfo(client, expected.digest)) {
    await labelContent(client, expected.digest, labels);
    return;
  }
  const ref = `conveyor-${expected.digest.slice('sha256:'.length, 'sha256:'.length + 16)}-${randomBytes(6).toString('hex')}`;
  const stream = client.duplexStream<WriteContentRequest, WriteContentResponse>('content', 'Write');
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('data', (response: WriteContentResponse) => {
      if (response.action === 'COMMIT') resolve();
    });
    stream.on('error', reject);
    stream.on('end', () => reject(new Error('containerd closed the write stream before the commit')));
  });
  // Keep a failure of the stream from going unhandled while we are still sending.
  finished.catch(() => undefined);
  const send = async (message: WriteContentRequest) => {
    if (!stream.write(message)) await new Promise((resolve) => stream.once('drain', resolve));
  };

  try {
    let offset = 0;
    const chunks = source instanceof Uint8Array ? [source] : source;
    for await (const chunk of chunks) {
      for (let start = 0; start < chunk.length; start += CHUNK) {
        const data = Buffer.from(
          chunk.buffer,
          chunk.byteOffset + start,
          Math.min(CHUNK, chunk.length - start),
        );
        await send({ action: 'WRITE', ref, offset, total: expected.size, expected: expected.digest, data });
        offset += data.length;
      }
    }
    await send({ action: 'COMMIT', ref, offset, total: expected.size, expected: expected.digest, labels });
    stream.end();
    await finished;
  } catch (error) {
    stream.cancel();
    await ignoreNotFound(client.call('content', 'Abort', { ref })).catch(() => undefined);
    const normalized = isServiceError(error) ? new ContainerdCallError('content', 'Write', error) : error;
    if (isAlreadyExists(normalized)) {
      await labelContent(client, expected.digest, labels);
      return;
    }
    throw normalized;
  }
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as ServiceError).code === 'number' && 'metadata' in error;
}

export async function deleteContent(client: ContainerdClient, digest: string): Promise<void> {
  try {
    await client.call('content', 'Delete', { digest });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
