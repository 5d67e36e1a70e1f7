/**
 * The HTTP face: fastify routes of the OCI Distribution API over the storage, uploads, auth and
 * (in mirror mode) the mirror. Repository names hold slashes, so everything under /v2/ goes through
 * one wildcard route and is dispatched here on the path's tail, as Distribution's router does.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Authenticator, type Principal, parseScopes, sha256Token } from './auth.js';
import { type Action, type FilledOptions, fillOptions, type RegistryMirrorOptions } from './config.js';
import { RegistryError, toError } from './errors.js';
import { GarbageCollector, type GcOptions, type GcReport } from './gc.js';
import { MANIFEST_MAX_BYTES, MEDIA_TYPES, parseManifest } from './manifests.js';
import { Mirror } from './mirror.js';
import { ReferenceLock } from './reference-lock.js';
import {
  checkDigest,
  checkName,
  type Digest,
  digestOf,
  isTag,
  isValidName,
  parseDigest,
} from './references.js';
import { type ReferrerDescriptor, Storage } from './storage.js';
import { type ChunkRange, Uploads, uploadRange } from './uploads.js';
import { UpstreamClient } from './upstream.js';

const READ_CHUNK = 1024 * 1024;
const CATALOG_DEFAULT_PAGE = 1000;

interface Context {
  options: FilledOptions;
  storage: Storage;
  uploads: Uploads;
  auth: Authenticator;
  mirror: Mirror | undefined;
  /** Taken (shared) by every write that adds a reference to a stored blob; see gc.ts. */
  lock: ReferenceLock;
}

/** The collector of each app buildRegistry made, for collectRegistryGarbage. */
const collectors = new WeakMap<FastifyInstance, (options: GcOptions) => Promise<GcReport>>();
/** How many apps of this process use each storage root: the last to close removes server.json. */
const openRoots = new Map<string, number>();

/**
 * Run a garbage collection in the registry `app` (from buildRegistry), under its lock: safe with
 * pushes in flight whatever the grace period. The grace period defaults to options.gc.graceSeconds,
 * the upload age to options.uploadExpirySeconds.
 */
export function collectRegistryGarbage(app: FastifyInstance, options: GcOptions = {}): Promise<GcReport> {
  const collect = collectors.get(app);
  if (!collect) return Promise.reject(new Error('collectRegistryGarbage: not an app of buildRegistry'));
  return collect(options);
}

/** A request under /v2/ after dispatch: who asks, about which repository. */
interface Call {
  request: FastifyRequest;
  reply: FastifyReply;
  principal: Principal;
  repository: string;
  origin: string;
}

type Kind = 'uploads' | 'upload' | 'blob' | 'manifest' | 'tags' | 'referrers';

/** Tails of `/v2/<name>/…`, longest first where one could be read as another. */
const ROUTES: Array<{ pattern: RegExp; kind: Kind; methods: string[] }> = [
  { pattern: /^(.+)\/blobs\/uploads\/?$/, kind: 'uploads', methods: ['POST'] },
  { pattern: /^(.+)\/blobs\/uploads\/([^/]+)$/, kind: 'upload', methods: ['GET', 'PATCH', 'PUT', 'DELETE'] },
  { pattern: /^(.+)\/blobs\/([^/]+)$/, kind: 'blob', methods: ['GET', 'HEAD', 'DELETE'] },
  { pattern: /^(.+)\/manifests\/([^/]+)$/, kind: 'manifest', methods: ['GET', 'HEAD', 'PUT', 'DELETE'] },
  { pattern: /^(.+)\/tags\/list$/, kind: 'tags', methods: ['GET', 'HEAD'] },
  { pattern: /^(.+)\/referrers\/([^/]+)$/, kind: 'referrers', methods: ['GET', 'HEAD'] },
];

/**
 * Build the registry's fastify app (ready, not listening): `inject()` it in tests, or `listen()`.
 * Options are checked here; a bad one rejects with a RegistryConfigError that names it.
 */
export async function buildRegistry(input: RegistryMirrorOptions): Promise<FastifyInstance> {
  const options = fillOptions(input, sha256Token);
  const storage = await Storage.open(options.root);
  const uploads = new Uploads(storage, options.uploadExpirySeconds * 1000);
  await uploads.purgeExpired();
  const lock = new ReferenceLock();
  const collector = new GarbageCollector(storage, lock, uploads);
  // server.json tells a `gc` process that a server uses this root (see gc.ts).
  await storage.writeServerFile({ pid: process.pid, startedAt: Date.now() });
  openRoots.set(storage.root, (openRoots.get(storage.root) ?? 0) + 1);
  const app = Fastify({
    logger: options.logger,
    exposeHeadRoutes: false,
    // Blob bodies are streamed by the handlers, never buffered by fastify.
    bodyLimit: MANIFEST_MAX_BYTES,
  });
  const ctx: Context = {
    options,
    storage,
    uploads,
    auth: new Authenticator(options.auth),
    mirror: options.upstream
      ? new Mirror(storage, new UpstreamClient(options.upstream), options.upstream, app.log, lock)
      : undefined,
    lock,
  };
  collectors.set(app, (gc) =>
    collector.run({
      graceSeconds: gc.graceSeconds ?? options.gc.graceSeconds,
      uploadMaxAgeSeconds: gc.uploadMaxAgeSeconds ?? options.uploadExpirySeconds,
      dryRun: gc.dryRun ?? false,
    }),
  );
  const purge = setInterval(
    () => {
      uploads.purgeExpired().catch((error) => app.log.warn({ err: error }, 'purging expired uploads failed'));
    },
    60 * 60 * 1000,
  );
  purge.unref();
  const gcTimer =
    options.gc.intervalSeconds > 0
      ? setInterval(() => {
          if (collector.busy) return;
          collector
            .run({ graceSeconds: options.gc.graceSeconds, uploadMaxAgeSeconds: options.uploadExpirySeconds })
            .then(
              (report) =>
                app.log.info(
                  {
                    blobs: report.blobs.length,
                    manifests: report.manifests.length,
                    uploads: report.uploads.length,
                    bytesFreed: report.bytesFreed,
                  },
                  'garbage collection done',
                ),
              (error: unknown) => app.log.error({ err: error }, 'garbage collection failed'),
            );
        }, options.gc.intervalSeconds * 1000)
      : undefined;
  gcTimer?.unref();
  app.addHook('onClose', async () => {
    clearInterval(purge);
    clearInterval(gcTimer);
    await collector.idle();
    const open = (openRoots.get(storage.root) ?? 1) - 1;
    if (open > 0) openRoots.set(storage.root, open);
    else {
      openRoots.delete(storage.root);
      await storage.removeServerFile(process.pid);
    }
  });

  // Every body is handed to the handlers as the raw stream, whatever its Content-Type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.addHook('onRequest', async (_request, reply) => {
    reply.header('docker-distribution-api-version', 'registry/2.0');
  });
  app.setErrorHandler((error, request, reply) => {
    const registryError = asRegistryError(error);
    if (registryError.status >= 500) request.log.error({ err: error }, 'request failed');
    reply.code(registryError.status).headers(registryError.headers);
    if (request.method === 'HEAD') return reply.send();
    return reply.type('application/json').send(registryError.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new RegistryError(
      'UNSUPPORTED',
      `no endpoint ${request.method} ${request.url.split('?')[0]}`,
      {
        status: 404,
      },
    );
    reply.code(404).type('application/json').send(error.toBody());
  });

  app.route({
    method: ['GET', 'HEAD'],
    url: '/v2/',
    handler: async (request, reply) => {
      const principal = authenticate(ctx, request);
      // With credentials configured, the version check is where clients learn how to authenticate.
      if (ctx.auth.enabled && principal.anonymous)
        throw new RegistryError('UNAUTHORIZED', 'authentication required', {
          headers: { 'www-authenticate': ctx.auth.challenge(originOf(request)) },
        });
      return reply.type('application/json').send(request.method === 'HEAD' ? undefined : {});
    },
  });

  app.get('/v2/_catalog', async (request, reply) => {
    const principal = authenticate(ctx, request);
    const query = request.query as Record<string, string | string[] | undefined>;
    const visible = (await storage.listRepositories()).filter((name) => principal.can(name, 'pull'));
    if (principal.anonymous && !principal.any('pull'))
      throw new RegistryError('UNAUTHORIZED', 'authentication required to list repositories', {
        headers: { 'www-authenticate': ctx.auth.challenge(originOf(request)) },
      });
    const page = paginate(visible, query, CATALOG_DEFAULT_PAGE);
    if (page.next)
      reply.header('link', `</v2/_catalog?last=${encodeURIComponent(page.next)}&n=${page.n}>; rel="next"`);
    return reply.type('application/json').send({ repositories: page.items });
  });

  if (options.auth.scheme === 'bearer') {
    // Distribution's token endpoint, served by the registry itself.
    app.get('/token', async (request, reply) => {
      const principal = ctx.auth.authenticate(request.headers.authorization, { tokenEndpoint: true });
      if (!principal)
        throw new RegistryError('UNAUTHORIZED', 'invalid credentials for a token', {
          headers: { 'www-authenticate': `Basic realm="${options.auth.service}"` },
        });
      const query = request.query as Record<string, string | string[] | undefined>;
      const scopes = parseScopes(([] as string[]).concat(query.scope ?? []));
      return reply.type('application/json').send(ctx.auth.issue(principal, scopes));
    });
  }

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/v2/*',
    handler: async (request, reply) => {
      const tail = (request.params as { '*': string })['*'];
      const route = ROUTES.find((r) => r.pattern.test(tail));
      if (!route) {
        throw new RegistryError('UNSUPPORTED', `no endpoint ${request.method} /v2/${tail}`, { status: 404 });
      }
      const [, name = '', ref = ''] = route.pattern.exec(tail)!;
      const repository = checkName(name);
      if (!route.methods.includes(request.method)) {
        reply.header('allow', route.methods.join(', '));
        throw new RegistryError(
          'UNSUPPORTED',
          `${request.method} is not allowed on ${route.kind} endpoints`,
          {
            status: 405,
          },
        );
      }
      const principal = authenticate(ctx, request);
      const call: Call = { request, reply, principal, repository, origin: originOf(request) };
      switch (route.kind) {
        case 'uploads':
          return startUpload(ctx, call);
        case 'upload':
          return upload(ctx, call, ref);
        case 'blob':
          return blob(ctx, call, ref);
        case 'manifest':
          return manifest(ctx, call, ref);
        case 'tags':
          return tags(ctx, call);
        case 'referrers':
          return referrers(ctx, call, ref);
      }
    },
  });

  await app.ready();
  return app;
}

function asRegistryError(error: unknown): RegistryError {
  if (error instanceof RegistryError) return error;
  const status = (error as { statusCode?: unknown }).statusCode;
  // fastify's own 4xx (a malformed request line, a body over its limit): keep its status.
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new RegistryError(status === 413 ? 'SIZE_INVALID' : 'UNSUPPORTED', toError(error).message, {
      status,
    });
  return new RegistryError('UNKNOWN', toError(error).message, { cause: error });
}

function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.headers.host ?? `${request.hostname}`}`;
}

function authenticate(ctx: Context, request: FastifyRequest): Principal {
  const principal = ctx.auth.authenticate(request.headers.authorization);
  if (!principal) throw ctx.auth.invalidCredentials(originOf(request));
  return principal;
}

function authorize(ctx: Context, call: Call, action: Action): void {
  ctx.auth.require(call.principal, call.repository, action, call.origin);
}

/** Pushes and deletes are refused by a mirror: its content is the upstream's. */
function refuseOnMirror(ctx: Context, what: string): void {
  if (ctx.mirror)
    throw new RegistryError(
      'UNSUPPORTED',
      `this registry is a read-only mirror of ${ctx.mirror.url}: ${what} there instead`,
    );
}

function refuseDelete(ctx: Context): void {
  refuseOnMirror(ctx, 'delete');
  if (!ctx.options.delete)
    throw new RegistryError('UNSUPPORTED', 'deletion is disabled on this registry (options.delete is false)');
}

function queryOf(request: FastifyRequest): Record<string, string | string[] | undefined> {
  return request.query as Record<string, string | string[] | undefined>;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The request body as a stream, or undefined when there is none. */
function bodyOf(request: FastifyRequest): Readable | undefined {
  return request.body === undefined || request.body === null ? undefined : (request.body as Readable);
}

/** Read a whole (small) body, refusing one over `limit` bytes. */
async function readBody(request: FastifyRequest, limit: number): Promise<Buffer> {
  const body = bodyOf(request);
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      throw new RegistryError('SIZE_INVALID', `the body is over the limit of ${limit} bytes`, {
        status: 413,
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Drain a body the endpoint does not use, so the connection stays usable. */
async function discardBody(request: FastifyRequest): Promise<void> {
  const body = bodyOf(request);
  if (body) for await (const _ of body as AsyncIterable<Buffer>);
}

/** `Content-Range: <start>-<end>` of a chunk (the spec's form; `bytes=`/`bytes ` prefixes tolerated). */
function chunkRange(call: Call, id: string, size: () => Promise<number>): Promise<ChunkRange | undefined> {
  const header = call.request.headers['content-range'];
  if (header === undefined) return Promise.resolve(undefined);
  const match = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  const start = match ? Number(match[1]) : Number.NaN;
  const end = match ? Number(match[2]) : Number.NaN;
  if (match && end >= start) return Promise.resolve({ start, end });
  return size().then((current) => {
    throw new RegistryError(
      'RANGE_INVALID',
      `invalid Content-Range "${header}": expected <start>-<end>, inclusive`,
      {
        headers: {
          location: uploadLocation(call.repository, id),
          range: uploadRange(current),
          'docker-upload-uuid': id,
        },
      },
    );
  });
}

function uploadLocation(repository: string, id: string): string {
  return `/v2/${repository}/blobs/uploads/${id}`;
}

function uploadAccepted(call: Call, id: string, size: number, status: 202 | 204): FastifyReply {
  return call.reply
    .code(status)
    .header('location', uploadLocation(call.repository, id))
    .header('range', uploadRange(size))
    .header('docker-upload-uuid', id)
    .header('blob-upload-session-id', id)
    .send();
}

function blobCreated(call: Call, digest: string): FastifyReply {
  return call.reply
    .code(201)
    .header('location', `/v2/${call.repository}/blobs/${digest}`)
    .header('docker-content-digest', digest)
    .send();
}

// --- uploads -----------------------------------------------------------------------------

async function startUpload(ctx: Context, call: Call): Promise<FastifyReply> {
  refuseOnMirror(ctx, 'push');
  authorize(ctx, call, 'push');
  const query = queryOf(call.request);
  const mount = first(query.mount);
  const from = first(query.from);
  if (mount !== undefined) {
    // A mount that cannot be done falls back to an upload session, as the spec says.
    const digest = parseDigest(mount);
    const mounted =
      digest &&
      from !== undefined &&
      isValidName(from) &&
      call.principal.can(from, 'pull') &&
      (await ctx.lock.shared(async () => {
        // Touched before it is linked: a mount is a pusher's interest, and gc's grace counts from it.
        if (!(await ctx.storage.isBlobLinked(from, digest)) || !(await ctx.storage.touchBlob(digest)))
          return false;
        await ctx.storage.linkBlob(call.repository, digest);
        return true;
      }));
    if (digest && mounted) {
      await discardBody(call.request);
      return blobCreated(call, digest.value);
    }
  }
  const digestParam = first(query.digest);
  if (digestParam !== undefined) {
    const digest = checkDigest(digestParam);
    const session = await ctx.uploads.create(call.repository);
    try {
      await ctx.uploads.complete(call.repository, session.id, digest, bodyOf(call.request));
    } catch (error) {
      await ctx.uploads.cancel(call.repository, session.id).catch(() => undefined);
      throw error;
    }
    await ctx.lock.shared(() => ctx.storage.linkBlob(call.repository, digest));
    return blobCreated(call, digest.value);
  }
  await discardBody(call.request);
  const session = await ctx.uploads.create(call.repository);
  return uploadAccepted(call, session.id, 0, 202);
}

async function upload(ctx: Context, call: Call, id: string): Promise<FastifyReply> {
  refuseOnMirror(ctx, 'push');
  authorize(ctx, call, 'push');
  const { repository } = call;
  const size = async () => (await ctx.uploads.status(repository, id)).size;
  switch (call.request.method) {
    case 'GET': {
      const status = await ctx.uploads.status(repository, id);
      return uploadAccepted(call, id, status.size, 204);
    }
    case 'DELETE':
      await ctx.uploads.cancel(repository, id);
      return call.reply.code(204).send();
    case 'PATCH': {
      const range = await chunkRange(call, id, size);
      const status = await ctx.uploads.append(repository, id, bodyOf(call.request), range);
      return uploadAccepted(call, id, status.size, 202);
    }
    default: {
      const digest = checkDigest(first(queryOf(call.request).digest));
      const range = await chunkRange(call, id, size);
      await ctx.uploads.complete(repository, id, digest, bodyOf(call.request), range);
      await ctx.lock.shared(() => ctx.storage.linkBlob(repository, digest));
      return blobCreated(call, digest.value);
    }
  }
}

// --- blobs -------------------------------------------------------------------------------

async function blob(ctx: Context, call: Call, ref: string): Promise<FastifyReply> {
  const { storage } = ctx;
  const { repository, request, reply } = call;
  if (request.method === 'DELETE') {
    refuseDelete(ctx);
    authorize(ctx, call, 'delete');
    const digest = checkDigest(ref);
    if (!(await storage.unlinkBlob(repository, digest))) throw blobUnknown(repository, digest);
    return reply.code(202).send();
  }
  authorize(ctx, call, 'pull');
  const digest = checkDigest(ref);
  let size = (await storage.isBlobLinked(repository, digest)) ? await storage.blobSize(digest) : undefined;
  if (size === undefined && ctx.mirror) {
    if (await ctx.mirror.linkIfStored(repository, digest)) size = await storage.blobSize(digest);
    else if (request.method === 'HEAD') {
      const upstreamSize = await ctx.mirror.headBlob(repository, digest);
      blobHeaders(reply, digest);
      if (upstreamSize !== undefined) reply.header('content-length', upstreamSize);
      return reply.code(200).send();
    } else if (request.headers.range !== undefined) {
      await ctx.mirror.fetchBlob(repository, digest);
      size = await storage.blobSize(digest);
    } else {
      const fetched = await ctx.mirror.streamBlob(repository, digest);
      blobHeaders(reply, digest);
      if (fetched.size !== undefined) reply.header('content-length', fetched.size);
      return reply.code(200).send(fetched.stream);
    }
  }
  if (size === undefined) throw blobUnknown(repository, digest);
  blobHeaders(reply, digest);
  if (request.headers['if-none-match'] === `"${digest.value}"`) return reply.code(304).send();
  const range = byteRange(request.headers.range, size);
  if (range === 'unsatisfiable') {
    return reply
      .code(416)
      .header('content-range', `bytes */${size}`)
      .type('application/json')
      .send(
        new RegistryError(
          'RANGE_INVALID',
          `the range ${request.headers.range} is outside the blob's ${size} bytes`,
        ).toBody(),
      );
  }
  if (request.method === 'HEAD') {
    // A HEAD is how a pusher asks before skipping an upload: gc's grace period counts from it.
    await storage.touchBlob(digest).catch(() => false);
    return reply.code(200).header('content-length', size).send();
  }
  if (range) {
    reply
      .code(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
      .header('content-length', range.end - range.start + 1);
    if (range.end < range.start) return reply.send();
    return reply.send(
      createReadStream(storage.blobPath(digest), {
        start: range.start,
        end: range.end,
        highWaterMark: READ_CHUNK,
      }),
    );
  }
  reply.code(200).header('content-length', size);
  return reply.send(createReadStream(storage.blobPath(digest), { highWaterMark: READ_CHUNK }));
}

function blobHeaders(reply: FastifyReply, digest: Digest): void {
  reply
    .type('application/octet-stream')
    .header('docker-content-digest', digest.value)
    .header('etag', `"${digest.value}"`)
    .header('accept-ranges', 'bytes')
    // Content addressed: the bytes behind a digest never change.
    .header('cache-control', 'max-age=31536000');
}

/** One `bytes=` range of a blob; undefined to send it whole (no Range, or several ranges). */
function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

function blobUnknown(repository: string, digest: Digest): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', `blob ${digest.value} is not in repository ${repository}`, {
    detail: { digest: digest.value },
  });
}

// --- manifests ---------------------------------------------------------------------------

function manifestUnknown(repository: string, reference: string): RegistryError {
  return new RegistryError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${repository}`, {
    detail: { name: repository, reference },
  });
}

async function manifest(ctx: Context, call: Call, reference: string): Promise<FastifyReply> {
  switch (call.request.method) {
    case 'PUT':
      return putManifest(ctx, call, reference);
    case 'DELETE':
      return deleteManifest(ctx, call, reference);
    default:
      return getManifest(ctx, call, reference);
  }
}

async function getManifest(ctx: Context, call: Call, reference: string): Promise<FastifyReply> {
  authorize(ctx, call, 'pull');
  const { storage } = ctx;
  const { repository, reply } = call;
  const byDigest = reference.includes(':');
  const requested = byDigest ? parseDigest(reference) : undefined;
  if ((byDigest && !requested) || (!byDigest && !isTag(reference)))
    throw manifestUnknown(repository, reference);
  if (ctx.mirror) await ctx.mirror.ensureManifest(repository, reference, requested);
  const digest = requested ?? parseDigest((await storage.tag(repository, reference))?.digest ?? '');
  const link = digest ? await storage.manifestLink(repository, digest) : undefined;
  const data = link && digest ? await storage.readBlob(digest) : undefined;
  if (!digest || !link || !data) throw manifestUnknown(repository, reference);
  reply
    .code(200)
    .type(link.mediaType)
    .header('docker-content-digest', digest.value)
    .header('etag', `"${digest.value}"`)
    .header('content-length', data.length);
  if (call.request.method === 'HEAD') return reply.send();
  return reply.send(data);
}

/** Conditional tag writes, one at a time per repository and tag. */
const tagWrites = new (class KeyedQueue {
  readonly #tails = new Map<string, Promise<unknown>>();
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.catch(() => undefined);
    this.#tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
})();

/** `If-Match: "<digest>"` (the tag must point there) or `If-None-Match: *` (no such tag yet). */
function tagCondition(
  headers: Record<string, string | string[] | undefined>,
): { type: 'match'; digest: string } | { type: 'none' } | undefined {
  const match = headers['if-match'];
  if (typeof match === 'string' && match.trim() !== '') {
    return { type: 'match', digest: match.trim().replace(/^W\//, '').replace(/^"|"$/g, '') };
  }
  const noneMatch = headers['if-none-match'];
  if (typeof noneMatch === 'string' && noneMatch.trim() === '*') return { type: 'none' };
  return undefined;
}

async function putManifest(ctx: Context, call: Call, reference: string): Promise<FastifyReply> {
  refuseOnMirror(ctx, 'push');
  authorize(ctx, call, 'push');
  const { storage } = ctx;
  const { repository, request, reply } = call;
  const byDigest = reference.includes(':');
  const requested = byDigest ? checkDigest(reference) : undefined;
  if (!byDigest && !isTag(reference))
    throw new RegistryError(
      'MANIFEST_INVALID',
      `invalid tag "${reference}": tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`,
      {
        detail: { reference },
      },
    );
  const query = queryOf(request);
  const extraTags = ([] as string[]).concat(query.tag ?? []);
  for (const tag of extraTags)
    if (!isTag(tag))
      throw new RegistryError('MANIFEST_INVALID', `invalid tag "${tag}" in ?tag=`, { detail: { tag } });

  const data = await readBody(request, MANIFEST_MAX_BYTES);
  const parsed = parseManifest(data, request.headers['content-type']);
  const digest = parseDigest(digestOf(data, requested?.algorithm ?? 'sha256'))!;
  if (requested && requested.value !== digest.value)
    throw new RegistryError(
      'DIGEST_INVALID',
      `the manifest's digest is ${digest.value}, not ${requested.value} as the reference says`,
      { detail: { digest: requested.value } },
    );

  // From the check that its blobs are here to its link, under the lock: no gc sweep in between.
  await ctx.lock.shared(async () => {
    // Everything the manifest points to must be here already: no dangling images. Each is
    // touched before it is checked (see gc.ts): a gc process beside us sees it, or we see it gone.
    for (const ref of parsed.blobs) {
      const size =
        (await storage.isBlobLinked(repository, ref.digest)) && (await storage.touchBlob(ref.digest))
          ? await storage.blobSize(ref.digest)
          : undefined;
      if (size === undefined)
        throw new RegistryError(
          'MANIFEST_BLOB_UNKNOWN',
          `the manifest references blob ${ref.digest.value}, which is not in repository ${repository}; push it first`,
          { detail: { digest: ref.digest.value } },
        );
      if (size !== ref.size)
        throw new RegistryError(
          'MANIFEST_INVALID',
          `manifest invalid: its descriptor of blob ${ref.digest.value} says ${ref.size} bytes, the blob has ${size}`,
          { detail: { digest: ref.digest.value } },
        );
    }
    for (const ref of parsed.manifests) {
      if (!(await storage.manifestLink(repository, ref.digest)) || !(await storage.touchBlob(ref.digest)))
        throw new RegistryError(
          'MANIFEST_BLOB_UNKNOWN',
          `the index references manifest ${ref.digest.value}, which is not in repository ${repository}; push it first`,
          { detail: { digest: ref.digest.value } },
        );
    }

    const now = Date.now();
    const tags = [...(byDigest ? [] : [reference]), ...extraTags];
    const store = async () => {
      await storage.writeBlob(digest, data);
      await storage.linkManifest(repository, digest, {
        digest: digest.value,
        mediaType: parsed.mediaType,
        size: data.length,
      });
      if (parsed.subject) {
        const descriptor: ReferrerDescriptor = {
          mediaType: parsed.mediaType,
          digest: digest.value,
          size: data.length,
          ...(parsed.artifactType ? { artifactType: parsed.artifactType } : {}),
          ...(parsed.annotations ? { annotations: parsed.annotations } : {}),
        };
        await storage.addReferrer(repository, parsed.subject.digest, descriptor, digest);
        reply.header('oci-subject', parsed.subject.digest.value);
      }
      for (const tag of tags) await storage.setTag(repository, tag, { digest: digest.value, checkedAt: now });
    };
    if (byDigest) {
      await store();
    } else {
      // Writes of one tag go one at a time, so a conditional one (If-Match / If-None-Match: the
      // compare-and-set a read-modify-write client such as the plugin index needs) is checked and
      // made with no other write of the tag in between. It is checked before anything is written.
      const condition = tagCondition(request.headers);
      await tagWrites.run(`${repository}:${reference}`, async () => {
        if (condition) {
          const current = (await storage.tag(repository, reference))?.digest ?? null;
          const ok = condition.type === 'none' ? current === null : current === condition.digest;
          if (!ok) {
            throw new RegistryError(
              'PRECONDITION_FAILED',
              `tag ${reference} of ${repository} points at ${current ?? 'nothing'}, not ${condition.type === 'none' ? 'nothing' : condition.digest} as If-${condition.type === 'none' ? 'None-' : ''}Match requires; read it again and retry`,
              { detail: { tag: reference, current } },
            );
          }
        }
        await store();
      });
    }
    ctx.lock.journal(repository, digest.value);
  });
  return reply
    .code(201)
    .header('location', `/v2/${repository}/manifests/${digest.value}`)
    .header('docker-content-digest', digest.value)
    .send();
}

async function deleteManifest(ctx: Context, call: Call, reference: string): Promise<FastifyReply> {
  refuseDelete(ctx);
  authorize(ctx, call, 'delete');
  const { storage } = ctx;
  const { repository, reply } = call;
  if (!reference.includes(':')) {
    if (!isTag(reference) || !(await storage.deleteTag(repository, reference)))
      throw manifestUnknown(repository, reference);
    return reply.code(202).send();
  }
  const digest = checkDigest(reference);
  if (!(await storage.manifestLink(repository, digest))) throw manifestUnknown(repository, reference);
  const data = await storage.readBlob(digest);
  if (data) {
    try {
      const subject = parseManifest(data, undefined).subject;
      if (subject) await storage.removeReferrer(repository, subject.digest, digest);
    } catch {
      // Not a manifest we can read (cached as sent by an upstream): it has no referrer entry.
    }
  }
  // Distribution's semantics: deleting a manifest untags it everywhere in the repository.
  await storage.deleteTagsOf(repository, digest.value);
  await storage.unlinkManifest(repository, digest);
  return reply.code(202).send();
}

// --- tags and referrers ------------------------------------------------------------------

/** `n` and `last` of a list endpoint: the page, and the `last` of the next page if there is one. */
function paginate(
  all: string[],
  query: Record<string, string | string[] | undefined>,
  defaultPage: number | undefined,
): { items: string[]; next: string | undefined; n: number } {
  const rawN = first(query.n);
  let n = defaultPage;
  if (rawN !== undefined) {
    if (!/^\d+$/.test(rawN))
      throw new RegistryError('PAGINATION_NUMBER_INVALID', `n=${rawN} is not a non-negative integer`, {
        detail: { n: rawN },
      });
    n = Number(rawN);
  }
  const last = first(query.last);
  const after = last === undefined ? all : all.filter((item) => item > last);
  if (n === undefined || after.length <= n) return { items: after, next: undefined, n: n ?? after.length };
  const items = after.slice(0, n);
  return { items, next: items.length ? items[items.length - 1] : undefined, n };
}

async function tags(ctx: Context, call: Call): Promise<FastifyReply> {
  authorize(ctx, call, 'pull');
  const { repository, request, reply } = call;
  if (ctx.mirror) {
    const search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const upstream = await ctx.mirror.tags(repository, search);
    if (upstream) {
      if (upstream.link) reply.header('link', upstream.link);
      return reply.type('application/json').send(upstream.body);
    }
  }
  const all = await ctx.storage.listTags(repository);
  if (!all)
    throw new RegistryError('NAME_UNKNOWN', `repository ${repository} is not known to the registry`, {
      detail: { name: repository },
    });
  const page = paginate(all, queryOf(request), undefined);
  if (page.next)
    reply.header(
      'link',
      `</v2/${repository}/tags/list?last=${encodeURIComponent(page.next)}&n=${page.n}>; rel="next"`,
    );
  return reply.type('application/json').send({ name: repository, tags: page.items });
}

async function referrers(ctx: Context, call: Call, ref: string): Promise<FastifyReply> {
  authorize(ctx, call, 'pull');
  const { repository, request, reply } = call;
  const digest = checkDigest(ref);
  const artifactType = first(queryOf(request).artifactType);
  reply.type(MEDIA_TYPES.ociIndex);
  if (ctx.mirror) {
    const search = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const upstream = await ctx.mirror.referrers(repository, digest, search);
    if (upstream) {
      if (upstream.filters) reply.header('oci-filters-applied', upstream.filters);
      return reply.send(Buffer.from(JSON.stringify(upstream.body)));
    }
  }
  let manifests = await ctx.storage.listReferrers(repository, digest);
  if (artifactType !== undefined) {
    manifests = manifests.filter((m) => m.artifactType === artifactType);
    reply.header('oci-filters-applied', 'artifactType');
  }
  // A subject nobody refers to yet is an empty list, never a 404: 404 means "no referrers API".
  // As bytes: fastify would add `; charset=utf-8` to a serialised object's media type.
  return reply.send(
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests })),
  );
}
