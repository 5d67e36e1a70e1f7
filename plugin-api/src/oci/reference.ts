import { ociError } from './errors.js';

/** An image reference taken apart: `host/repository:tag` or `host/repository@digest`. */
export interface ImageReference {
  /** The registry host as the reference names it (`docker.io` when it names none). */
  host: string;
  repository: string;
  tag?: string;
  digest?: string;
}

export const DOCKER_HUB = 'docker.io';

/** A tag as the Distribution spec allows it: a word character, then up to 127 of `\w`, `.`, `-`. */
const TAG = '[\\w][\\w.-]{0,127}';

const REFERENCE = new RegExp(
  `^(?:([^/]+)/)?([a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::(${TAG}))?(?:@(sha256:[a-f0-9]{64}))?$`,
);
const WHOLE_TAG = new RegExp(`^${TAG}$`);

/** Whether `tag` is a tag a registry accepts (`v1.2.3`, `latest`, `1.2-alpine`). */
export const isTag = (tag: string) => WHOLE_TAG.test(tag);

/**
 * Take a reference apart as Docker does: `busybox` is `docker.io/library/busybox:latest`, a first
 * part with a dot, a port or `localhost` is a registry host. Throws `<prefix>_BAD_IMAGE_REFERENCE`.
 */
export function parseReference(reference: string, codePrefix: string): ImageReference {
  const match = REFERENCE.exec(reference);
  if (!match) throw badReference(reference, codePrefix);
  let [, first, rest = '', tag, digest] = match;
  // The first part names a host only when it looks like one; `library/busybox` is a repository.
  if (first !== undefined && !/[.:]/.test(first) && first !== 'localhost') {
    rest = `${first}/${rest}`;
    first = undefined;
  }
  if (/[A-Z]/.test(rest)) throw badReference(reference, codePrefix);
  const host = first ?? DOCKER_HUB;
  const repository = host === DOCKER_HUB && !rest.includes('/') ? `library/${rest}` : rest;
  return {
    host,
    repository,
    ...(tag ? { tag } : {}),
    ...(digest ? { digest } : {}),
    ...(!tag && !digest ? { tag: 'latest' } : {}),
  };
}

/** The full name of a reference: `host/repository:tag` (or `@digest`), as containerd keeps it. */
export function canonicalName(ref: ImageReference): string {
  return `${ref.host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

const LOOPBACK_HOST = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;

/** Hosts Docker and containerd reach over plain HTTP without being told: loopback ones. */
export const isLoopbackHost = (host: string) => LOOPBACK_HOST.test(host);

function badReference(reference: string, codePrefix: string) {
  return ociError(
    codePrefix,
    'BAD_IMAGE_REFERENCE',
    `${JSON.stringify(reference)} is not an image reference; write it as [host[:port]/]repository[:tag][@sha256:digest]`,
  );
}
