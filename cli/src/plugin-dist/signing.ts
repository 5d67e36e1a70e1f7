/**
 * Ed25519 signatures over a plugin manifest's digest, as detached OCI artifacts that refer to the
 * manifest (`subject`). A key is known by its id: the sha256 of its public key (SPKI DER).
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { CliError } from '../errors/index.js';
import { sha256Digest } from './digest.js';
import { ANNOTATIONS, type Descriptor, EMPTY_CONFIG, MEDIA_TYPES, type OciManifest } from './media-types.js';
import { type Blob, toBlob } from './pack.js';

export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return sha256Digest(publicKey.export({ type: 'spki', format: 'der' }));
}

/** A new key pair, both in PEM. */
export function generateSigningKeys(): { privateKey: string; publicKey: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey),
  };
}

export async function readPrivateKey(file: string): Promise<KeyObject> {
  return readKey(file, (pem) => createPrivateKey(pem));
}

export async function readPublicKey(file: string): Promise<KeyObject> {
  return readKey(file, (pem) => createPublicKey(pem));
}

export function publicKeyFromPem(pem: string, where: string): KeyObject {
  return checkEd25519(() => createPublicKey(pem), where);
}

async function readKey(file: string, parse: (pem: string) => KeyObject): Promise<KeyObject> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_KEY_INVALID',
      `cannot read the key ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return checkEd25519(() => parse(pem), file);
}

function checkEd25519(parse: () => KeyObject, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = parse();
  } catch (error) {
    throw new CliError(
      'CC_E_CLI_PLUGIN_KEY_INVALID',
      `${where}: not a PEM key: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new CliError(
      'CC_E_CLI_PLUGIN_KEY_INVALID',
      `${where}: a ${key.asymmetricKeyType ?? 'symmetric'} key; plugin signatures use Ed25519 (make one with \`cc plugin keygen\`)`,
    );
  }
  return key;
}

/** What is signed: the manifest digest as UTF-8 text, so any tool can check it by hand. */
function signedBytes(manifestDigest: string): Buffer {
  return Buffer.from(manifestDigest, 'utf8');
}

export interface SignatureArtifact {
  /** The raw signature. */
  readonly layer: Blob;
  /** The signature manifest, whose `subject` is the plugin manifest. */
  readonly manifest: Blob;
  readonly keyId: string;
}

/** Signs `subject` (the plugin manifest's descriptor) into a detached signature artifact. */
export function signManifest(subject: Descriptor, privateKey: KeyObject): SignatureArtifact {
  const keyId = keyIdOf(privateKey);
  const layer = toBlob(MEDIA_TYPES.signatureLayer, sign(null, signedBytes(subject.digest), privateKey));
  const json: OciManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.ociManifest,
    artifactType: MEDIA_TYPES.signature,
    config: EMPTY_CONFIG,
    layers: [layer.descriptor],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations: { [ANNOTATIONS.keyId]: keyId },
  };
  return { layer, manifest: toBlob(MEDIA_TYPES.ociManifest, Buffer.from(JSON.stringify(json))), keyId };
}

export function verifySignature(manifestDigest: string, signature: Buffer, publicKey: KeyObject): boolean {
  try {
    return verify(null, signedBytes(manifestDigest), publicKey, signature);
  } catch {
    return false;
  }
}

/** The empty config blob's bytes (pushed with every signature). */
export const EMPTY_CONFIG_DATA = Buffer.from('{}');
