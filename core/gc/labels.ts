/**
 * The labels Conveyor puts on every container and volume it asks a plugin for, and that gc relies
 * on. The executor must set them, and must record a container's or volume's row (state
 * 'creating') before it asks the plugin to create it:
 *
 * - `conveyor.dev/owner=conveyor` marks what Conveyor made. gc lists each runtime's containers and
 *   each driver's volumes with this label, and destroys those that have no row: left behind by a
 *   crash between creating one and recording it, or by a row deleted by hand.
 * - `conveyor.dev/build=<build id>` names the build a container or volume serves. When the build is
 *   deleted (with its pipeline) the row's build_id becomes NULL; the label tells gc that the row
 *   belonged to a build and can go. Rows with neither build nor label (caches) are left alone.
 */
export const OWNER_LABEL = 'conveyor.dev/owner';
export const OWNER_VALUE = 'conveyor';
export const BUILD_LABEL = 'conveyor.dev/build';
/**
 * `conveyor.dev/installation=<id>` names the installation (its database) that made it: gc's
 * orphan sweep takes only its own installation's, so installations sharing a runtime or a volume
 * driver's storage never destroy each other's containers and volumes.
 */
export const INSTALLATION_LABEL = 'conveyor.dev/installation';

/** The labels that say this installation made it: what gc's orphan sweep lists by. */
export function ownerLabels(installation: string | undefined): Record<string, string> {
  return installation === undefined
    ? { [OWNER_LABEL]: OWNER_VALUE }
    : { [OWNER_LABEL]: OWNER_VALUE, [INSTALLATION_LABEL]: installation };
}

/** The labels for a container or volume of `buildId` (or of no build). */
export function conveyorLabels(buildId?: number | null, installation?: string): Record<string, string> {
  return buildId === undefined || buildId === null
    ? ownerLabels(installation)
    : { ...ownerLabels(installation), [BUILD_LABEL]: String(buildId) };
}
