import { sha256 } from '@conveyor/plugin-api/oci';

/** The chain ids of a layer stack, as containerd names committed snapshots (identity.ChainIDs). */
export function chainIds(diffIds: readonly string[]): string[] {
  const chain: string[] = [];
  for (const diffId of diffIds) {
    const parent = chain[chain.length - 1];
    chain.push(parent === undefined ? diffId : sha256(`${parent} ${diffId}`));
  }
  return chain;
}
