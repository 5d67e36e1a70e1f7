/** The time resource's `source`, as the manifest's schema describes it (the host validated it). */
export interface TimeSource {
  interval?: string;
  location?: string;
  start?: string;
  stop?: string;
  days?: string[];
  initial_version?: boolean;
  start_after?: string;
}

export interface TimeVersion {
  time?: string;
}
