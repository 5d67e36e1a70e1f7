import { PluginError } from '@conveyor/plugin-api';
import {
  type CallOptions,
  type Client,
  type ClientDuplexStream,
  type ClientReadableStream,
  credentials,
  Metadata,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { type ServiceName, serviceConstructor } from './proto.js';

/** The metadata keys containerd reads on every call. */
const NAMESPACE_KEY = 'containerd-namespace';
const LEASE_KEY = 'containerd-lease';

export interface ClientOptions {
  /** The containerd socket, e.g. /run/containerd/containerd.sock. */
  address: string;
  namespace: string;
}

/** Extra options of one call. */
export interface RequestOptions {
  /** Cancels the call (a run whose caller gave up). */
  signal?: AbortSignal | undefined;
  /** Milliseconds; none by default, since a layer apply or a Wait may take long. */
  timeoutMs?: number | undefined;
}

/**
 * containerd's gRPC API over its unix socket. Every call carries the namespace, and the lease when
 * the client was made with `withLease`: what is created under a lease is kept from containerd's
 * garbage collector until the lease is deleted.
 */
export class ContainerdClient {
  readonly address: string;
  readonly namespace: string;
  readonly lease: string | undefined;
  readonly #clients: Map<ServiceName, Client>;

  constructor(options: ClientOptions, lease?: string, clients?: Map<ServiceName, Client>) {
    this.address = options.address;
    this.namespace = options.namespace;
    this.lease = lease;
    this.#clients = clients ?? new Map();
  }

  /** The same connection, with every call made under `lease`. */
  withLease(lease: string | undefined): ContainerdClient {
    return new ContainerdClient({ address: this.address, namespace: this.namespace }, lease, this.#clients);
  }

  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }

  metadata(): Metadata {
    const metadata = new Metadata();
    metadata.set(NAMESPACE_KEY, this.namespace);
    if (this.lease) metadata.set(LEASE_KEY, this.lease);
    return metadata;
  }

  #client(service: ServiceName): Client {
    let client = this.#clients.get(service);
    if (!client) {
      const Constructor = serviceConstructor(service);
      client = new Constructor(`unix://${this.address}`, credentials.createInsecure(), {
        // Layer blobs stream in chunks far below this; a big image config or spec is the limit.
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
        'grpc.max_send_message_length': 64 * 1024 * 1024,
      });
      this.#clients.set(service, client);
    }
    return client;
  }

  /** One unary call; rejects with a ContainerdCallError carrying the gRPC status. */
  call<Response = Record<string, unknown>>(
    service: ServiceName,
    method: string,
    request: object,
    options: RequestOptions = {},
  ): Promise<Response> {
    const client = this.#client(service) as unknown as Record<
      string,
      (
        request: object,
        metadata: Metadata,
        options: CallOptions,
        callback: (error: ServiceError | null, response: Response) => void,
      ) => { cancel(): void }
    >;
    const fn = client[method];
    if (!fn) throw new TypeError(`containerd service ${service} has no method ${method} in our protos`);
    const callOptions: CallOptions = options.timeoutMs ? { deadline: Date.now() + options.timeoutMs } : {};
    return new Promise((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(options.signal.reason);
        return;
      }
      const onAbort = () => call.cancel();
      const call = fn.call(client, request, this.metadata(), callOptions, (error, response) => {
        options.signal?.removeEventListener('abort', onAbort);
        if (error) reject(new ContainerdCallError(service, method, error));
        else resolve(response);
      });
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A server-streaming call, gathered into an array (List of snapshots, Read of content). */
  async collect<Item>(service: ServiceName, method: string, request: object): Promise<Item[]> {
    const stream = this.serverStream<Item>(service, method, request);
    const items: Item[] = [];
    try {
      for await (const item of stream) items.push(item as Item);
    } catch (error) {
      throw new ContainerdCallError(service, method, error as ServiceError);
    }
    return items;
  }

  serverStream<Item>(service: ServiceName, method: string, request: object): ClientReadableStream<Item> {
    const client = this.#client(service) as unknown as Record<
      string,
      (request: object, metadata: Metadata) => ClientReadableStream<Item>
    >;
    const fn = client[method];
    if (!fn) throw new TypeError(`containerd service ${service} has no method ${method} in our protos`);
    return fn.call(client, request, this.metadata());
  }

  duplexStream<Request, Response>(
    service: ServiceName,
    method: string,
  ): ClientDuplexStream<Request, Response> {
    const client = this.#client(service) as unknown as Record<
      string,
      (metadata: Metadata) => ClientDuplexStream<Request, Response>
    >;
    const fn = client[method];
    if (!fn) throw new TypeError(`containerd service ${service} has no method ${method} in our protos`);
    return fn.call(client, this.metadata());
  }
}

/** A failed containerd call; `grpcCode` is the gRPC status (5 NOT_FOUND, 6 ALREADY_EXISTS, …). */
export class ContainerdCallError extends Error {
  readonly grpcCode: number;

  constructor(service: string, method: string, error: ServiceError) {
    super(`containerd ${service}.${method}: ${error.details || error.message}`, { cause: error });
    this.name = 'ContainerdCallError';
    this.grpcCode = typeof error.code === 'number' ? error.code : status.UNKNOWN;
  }
}

export const isNotFound = (error: unknown) =>
  error instanceof ContainerdCallError && error.grpcCode === status.NOT_FOUND;
export const isAlreadyExists = (error: unknown) =>
  error instanceof ContainerdCallError && error.grpcCode === status.ALREADY_EXISTS;

/** Turn an unreachable socket into an error that says what to check. */
export function unreachable(address: string, error: unknown): PluginError | undefined {
  if (error instanceof ContainerdCallError && error.grpcCode === status.UNAVAILABLE) {
    return new PluginError(
      'CONTAINERD_UNAVAILABLE',
      `cannot reach containerd at ${address}: ${error.message}; is containerd running, and is \`address\` in the plugin's configuration its gRPC socket?`,
      { cause: error },
    );
  }
  return undefined;
}

/** Ignore NOT_FOUND: for deletes that must be idempotent. */
export async function ignoreNotFound<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}
