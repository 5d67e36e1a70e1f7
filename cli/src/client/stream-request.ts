import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * A GET for a long-lived stream (Server-Sent Events) on a connection of its own, without a
 * keep-alive agent, so ending it (`signal`) closes exactly that socket. Not fetch: when undici
 * aborts a response mid-body it opens a spare connection to the server, which then holds the
 * server's shutdown for a minute; that matters when both share a process (`cc up --example`).
 * Resolves with the response whatever its status; rejects on network failure or abort.
 */
export function requestStream(
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<IncomingMessage> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'GET', headers, agent: false, signal }, resolve);
    outgoing.once('error', reject);
    outgoing.end();
  });
}

/** The whole body of a (short) response, as text: for error replies. */
export async function readBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of response)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}
