/** Messages between a plugin worker and its launcher process (see launcher.ts). */

export type ToLauncher =
  | {
      type: 'spawn';
      id: number;
      path: string;
      args: string[];
      cwd: string;
      env: Record<string, string | undefined>;
      stdin: boolean;
    }
  | { type: 'stdin'; id: number; chunk: Uint8Array }
  | { type: 'stdin-end'; id: number }
  /** The runtime has recorded the process: from now on it is the runtime's to reap. */
  | { type: 'adopted'; id: number };

export type FromLauncher =
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'spawn-error'; id: number; code: string | undefined; message: string }
  | { type: 'output'; id: number; stream: 'stdout' | 'stderr'; chunk: Uint8Array }
  | { type: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null };
