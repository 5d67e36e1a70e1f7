/**
 * Garbage collection of the blob store, mark and sweep, as Distribution's `garbage-collect` and
 * zot's GC do it. Deleting a manifest or a tag only removes links; this removes what nothing
 * links any more:
 *
 *  - mark: every manifest a repository still links is alive — except a referrer (a manifest
 *    with a `subject`), which is alive only while its subject is, or while a tag names it. From
 *    each live manifest, its config and layers (an artifact's blobs), its `subject`, the child
 *    manifests of an index (recursively) and the referrers of it are marked.
 *  - sweep: every blob not marked and last touched before the grace period is deleted, with the
 *    repositories' links to it; referrers whose subject is gone are unlinked; upload sessions
 *    untouched for longer than their maximum age are removed.
 *
 * Safety against concurrent writes (the reason for each piece):
 *  1. A blob's mtime says when something last showed interest in it: an upload completing, a
 *     mount, a HEAD (how a pusher asks "do you have it?" before skipping the upload), a manifest
 *     PUT naming it. Nothing touched within the grace period is deleted, so a push in progress
 *     (blobs first, manifest last) keeps its blobs while it lasts.
 *  2. Inside the server, writes that add references run under the shared side of a
 *     ReferenceLock. The collection takes it alone once to start a journal (every write after
 *     that records what it references) and once for the sweep, after marking what the journal
 *     holds. A manifest PUT's "are its blobs here?" and its link are therefore never split by a
 *     sweep, whatever the grace period.
 *  3. Run as a separate process (`gc` subcommand) there is no shared lock: there, the blob is
 *     renamed aside before its mtime is read again (storage.removeBlobUnlessTouched), and a
 *     server's write touches before it checks, so each sees the other. What is left is a write
 *     that touches a blob, then takes longer than the grace period to link its manifest; so the
 *     command refuses a grace under a minute while a server uses the root (server.json).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RegistryConfigError } from './errors.js';
import { MANIFEST_MAX_BYTES, parseManifest } from './manifests.js';
import { ReferenceLock } from './reference-lock.js';
import { type Digest, parseDigest } from './references.js';
import { Storage, type StoredManifest } from './storage.js';
import { Uploads } from './uploads.js';

export interface GcOptions {
  /** Blobs and referrers touched this recently are kept, referenced or not (default 3600 s). */
  graceSeconds?: number;
  /** Upload sessions untouched this long are removed (default 86400 s). */
  uploadMaxAgeSeconds?: number;
  /** List what would be removed; remove nothing. */
  dryRun?: boolean;
}

/** What a collection removed (or, in a dry run, would remove). */
export interface GcReport {
  dryRun: boolean;
  graceSeconds: number;
  uploadMaxAgeSeconds: number;
  /** ISO 8601: when the mark began; nothing touched after `cutoff` is removed. */
  startedAt: string;
  cutoff: string;
  /** Blobs deleted (manifests' own bytes included), by digest. */
  blobs: Array<{ digest: string; size: number }>;
  /** Manifest revisions unlinked: referrers whose subject is gone and that no tag names. */
  manifests: Array<{ repository: string; digest: string; subject: string }>;
  /** Upload sessions removed; `repository` is null when the session's info is unreadable. */
  uploads: Array<{ id: string; repository: string | null; size: number }>;
  /** Bytes of the blobs and upload sessions removed. */
  bytesFreed: number;
  /** The blobs that stay: referenced, or inside the grace period. */
  kept: { blobs: number; bytes: number };
}

export const GC_DEFAULTS = { graceSeconds: 3600, uploadMaxAgeSeconds: 86400 } as const;
/** A separate `gc` process beside a live server relies on mtimes alone: see 3. above. */
export const MIN_GRACE_BESIDE_SERVER_SECONDS = 60;

/** What a manifest references, read from its bytes. */
interface References {
  blobs: Digest[];
  manifests: Array<{ digest: Digest; mediaType: string }>;
  subject: Digest | undefined;
}

/** One repository's manifests, as the mark found them. */
interface RepositoryState {
  revisions: Map<string, StoredManifest>;
  /** Subject digest → the revisions that name it as their subject. */
  referrersOf: Map<string, Digest[]>;
  /** Revision digest → its subject, for referrers. */
  subjectOf: Map<string, Digest>;
  blobLinks: Digest[];
}

const DIGEST_STRING = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** Every string in a JSON value that parses as a digest: the references of a format we cannot read. */
function digestStrings(value: unknown, found: Digest[] = []): Digest[] {
  if (typeof value === 'string') {
    const digest = DIGEST_STRING.test(value) ? parseDigest(value) : undefined;
    if (digest) found.push(digest);
  } else if (Array.isArray(value)) {
    for (const item of value) digestStrings(item, found);
  } else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) digestStrings(item, found);
  }
  return found;
}

/** The mark of one collection: which blobs stay, and which manifests of which repository live. */
class Mark {
  readonly marked = new Set<string>();
  readonly repositories = new Map<string, RepositoryState>();
  readonly #live = new Set<string>();
  /** Parsed manifests by digest: content addressed, so the same in every repository. */
  readonly #parsed = new Map<string, References | undefined>();

  constructor(
    private readonly storage: Storage,
    private readonly cutoffMs: number,
  ) {}

  isLive(repository: string, digest: string): boolean {
    return this.#live.has(`${repository}@${digest}`);
  }

  private async references(digest: Digest, mediaType: string | undefined): Promise<References | undefined> {
    if (this.#parsed.has(digest.value)) return this.#parsed.get(digest.value);
    let found: References | undefined;
    const size = await this.storage.blobSize(digest);
    const data =
      size !== undefined && size <= MANIFEST_MAX_BYTES ? await this.storage.readBlob(digest) : undefined;
    if (data) {
      try {
        const parsed = parseManifest(data, mediaType);
        found = {
          blobs: parsed.blobs.map((d) => d.digest),
          manifests: parsed.manifests.map((d) => ({ digest: d.digest, mediaType: d.mediaType })),
          subject: parsed.subject?.digest,
        };
      } catch {
        // A format a push would be refused with, cached as sent by an upstream: keep whatever it
        // names. It counts as no referrer, so it is never collected for a missing subject.
        let json: unknown;
        try {
          json = JSON.parse(data.toString('utf8'));
        } catch {
          json = undefined;
        }
        found = { blobs: digestStrings(json), manifests: [], subject: undefined };
      }
    }
    this.#parsed.set(digest.value, found);
    return found;
  }

  private state(repository: string): RepositoryState {
    let state = this.repositories.get(repository);
    if (!state) {
      state = { revisions: new Map(), referrersOf: new Map(), subjectOf: new Map(), blobLinks: [] };
      this.repositories.set(repository, state);
    }
    return state;
  }

  /** Read a repository's manifests and tags, and mark from its roots. */
  async scan(repository: string): Promise<void> {
    const state = this.state(repository);
    state.blobLinks = await this.storage.blobLinks(repository);
    for (const revision of await this.storage.manifestLinks(repository)) {
      state.revisions.set(revision.digest.value, revision);
      const subject = (await this.references(revision.digest, revision.link.mediaType))?.subject;
      if (!subject) continue;
      state.subjectOf.set(revision.digest.value, subject);
      const referrers = state.referrersOf.get(subject.value) ?? [];
      referrers.push(revision.digest);
      state.referrersOf.set(subject.value, referrers);
    }
    const tagged = new Set<string>();
    for (const tag of (await this.storage.listTags(repository)) ?? []) {
      const link = await this.storage.tag(repository, tag);
      if (link) tagged.add(link.digest);
    }
    for (const revision of state.revisions.values()) {
      const root =
        !state.subjectOf.has(revision.digest.value) ||
        tagged.has(revision.digest.value) ||
        // A referrer pushed before its subject (the spec allows it) gets the grace period too.
        revision.mtimeMs >= this.cutoffMs;
      if (root) await this.visit(repository, revision.digest, revision.link.mediaType);
    }
  }

  /** A manifest a write linked while the mark ran (from the lock's journal). */
  async visitJournaled(repository: string, value: string): Promise<void> {
    const digest = parseDigest(value);
    if (!digest) return;
    this.marked.add(digest.value);
    const link = await this.storage.manifestLink(repository, digest);
    if (link) await this.visit(repository, digest, link.mediaType);
  }

  /** Mark a live manifest of `repository` and everything it keeps alive. */
  private async visit(repository: string, digest: Digest, mediaType: string | undefined): Promise<void> {
    const key = `${repository}@${digest.value}`;
    if (this.#live.has(key)) return;
    this.#live.add(key);
    this.marked.add(digest.value);
    const refs = await this.references(digest, mediaType);
    if (refs) {
      for (const blob of refs.blobs) this.marked.add(blob.value);
      // The subject's bytes stay with a referrer a tag keeps; its revision link decides the rest.
      if (refs.subject) this.marked.add(refs.subject.value);
      for (const child of refs.manifests) await this.visit(repository, child.digest, child.mediaType);
    }
    const state = this.state(repository);
    for (const referrer of state.referrersOf.get(digest.value) ?? [])
      await this.visit(repository, referrer, state.revisions.get(referrer.value)?.link.mediaType);
  }
}

/**
 * Runs collections over one storage root, one at a time. The server holds one (with its own
 * lock and uploads); `collectGarbage` makes one for a root on its own.
 */
export class GarbageCollector {
  #last: Promise<unknown> = Promise.resolve();
  #running = 0;

  constructor(
    private readonly storage: Storage,
    private readonly lock: ReferenceLock,
    private readonly uploads: Uploads,
  ) {}

  /** Whether a collection is running or queued. */
  get busy(): boolean {
    return this.#running > 0;
  }

  /** Run a collection after any already running; rejects rather than throws. */
  run(options: GcOptions = {}): Promise<GcReport> {
    this.#running++;
    const next = this.#last.then(() => this.#collect(options));
    this.#last = next.catch(() => undefined).finally(() => this.#running--);
    return next;
  }

  /** Settles when no collection runs. */
  async idle(): Promise<void> {
    while (this.#running > 0) await this.#last;
  }

  async #collect(options: GcOptions): Promise<GcReport> {
    const graceSeconds = options.graceSeconds ?? GC_DEFAULTS.graceSeconds;
    const uploadMaxAgeSeconds = options.uploadMaxAgeSeconds ?? GC_DEFAULTS.uploadMaxAgeSeconds;
    const dryRun = options.dryRun ?? false;
    const { storage, lock } = this;

    // 1. A barrier: writes in flight finish, and every later one journals what it references.
    let startedAt = 0;
    await lock.exclusive(async () => {
      lock.startJournal();
      startedAt = Date.now();
    });
    const cutoffMs = startedAt - graceSeconds * 1000;
    const report: GcReport = {
      dryRun,
      graceSeconds,
      uploadMaxAgeSeconds,
      startedAt: new Date(startedAt).toISOString(),
      cutoff: new Date(cutoffMs).toISOString(),
      blobs: [],
      manifests: [],
      uploads: [],
      bytesFreed: 0,
      kept: { blobs: 0, bytes: 0 },
    };
    const mark = new Mark(storage, cutoffMs);
    try {
      // 2. Mark, beside the writes.
      for (const repository of await storage.listRepositories()) await mark.scan(repository);
      const blobs = await storage.listBlobs();

      // 3. Sweep, alone.
      await lock.exclusive(async () => {
        for (const [repository, digests] of lock.takeJournal())
          for (const digest of digests) await mark.visitJournaled(repository, digest);

        for (const [repository, state] of mark.repositories) {
          for (const revision of state.revisions.values()) {
            const subject = state.subjectOf.get(revision.digest.value);
            if (!subject || mark.isLive(repository, revision.digest.value)) continue;
            if (!dryRun) {
              if (!(await storage.unlinkManifestUnlessTouched(repository, revision.digest, cutoffMs))) {
                // Pushed again meanwhile: it stays, and so do its blobs until the next run.
                await mark.visitJournaled(repository, revision.digest.value);
                continue;
              }
              await storage.removeReferrer(repository, subject, revision.digest);
            }
            report.manifests.push({ repository, digest: revision.digest.value, subject: subject.value });
          }
        }

        const removed = new Set<string>();
        for (const blob of blobs) {
          const young = blob.mtimeMs >= cutoffMs;
          let freed: number | undefined;
          if (!mark.marked.has(blob.digest.value) && !young)
            freed = dryRun ? blob.size : await storage.removeBlobUnlessTouched(blob.digest, cutoffMs);
          if (freed === undefined) {
            report.kept.blobs++;
            report.kept.bytes += blob.size;
            continue;
          }
          removed.add(blob.digest.value);
          report.blobs.push({ digest: blob.digest.value, size: freed });
          report.bytesFreed += freed;
        }

        // Links to deleted blobs would answer BLOB_UNKNOWN anyway; dropping them keeps a
        // repository from seeing the blob again if another one pushes the same bytes later.
        if (!dryRun)
          for (const [repository, state] of mark.repositories)
            for (const digest of state.blobLinks)
              if (removed.has(digest.value) && (await storage.blobSize(digest)) === undefined)
                await storage.unlinkBlob(repository, digest);
      });
    } finally {
      lock.takeJournal();
    }

    // 4. Abandoned upload sessions.
    for (const upload of await this.uploads.purge(uploadMaxAgeSeconds * 1000, { now: startedAt, dryRun })) {
      report.uploads.push({ id: upload.id, repository: upload.repository ?? null, size: upload.size });
      report.bytesFreed += upload.size;
    }
    report.blobs.sort((a, b) => a.digest.localeCompare(b.digest));
    report.manifests.sort((a, b) =>
      `${a.repository}@${a.digest}`.localeCompare(`${b.repository}@${b.digest}`),
    );
    report.uploads.sort((a, b) => a.id.localeCompare(b.id));
    return report;
  }
}

/** Whether process `pid` exists (EPERM: it does, as another user's). */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

/**
 * Collect the garbage of the storage root `root` from outside any server (the `gc` subcommand).
 * With a live server on the root, the grace period must be at least a minute (see 3. above).
 */
export async function collectGarbage(options: GcOptions & { root: string }): Promise<GcReport> {
  const { root } = options;
  const graceSeconds = options.graceSeconds ?? GC_DEFAULTS.graceSeconds;
  const info = await stat(root).catch(() => undefined);
  if (!info?.isDirectory() || !(await stat(join(root, 'blobs')).catch(() => undefined))?.isDirectory())
    throw new RegistryConfigError(
      'CC_E_REGISTRY_ROOT_UNUSABLE',
      `${root} is not a registry storage root (no blobs/ directory); pass the --root the registry serves`,
    );
  const storage = await Storage.open(root);
  const server = await storage.readServerFile();
  if (
    server &&
    graceSeconds < MIN_GRACE_BESIDE_SERVER_SECONDS &&
    !options.dryRun &&
    processExists(server.pid)
  )
    throw new RegistryConfigError(
      'CC_E_REGISTRY_GC_UNSAFE',
      `a registry-mirror (pid ${server.pid}) is serving ${root}: beside it, gc needs a grace period of at least ${MIN_GRACE_BESIDE_SERVER_SECONDS}s so that pushes in flight keep their blobs (got ${graceSeconds}s); stop the server first, or let it collect itself (gc.intervalSeconds)`,
    );
  const collector = new GarbageCollector(
    storage,
    new ReferenceLock(),
    new Uploads(storage, (options.uploadMaxAgeSeconds ?? GC_DEFAULTS.uploadMaxAgeSeconds) * 1000),
  );
  return collector.run(options);
}
