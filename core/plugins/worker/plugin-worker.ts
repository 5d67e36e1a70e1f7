// The module piscina loads in each of a plugin's worker threads. Everything it does lives in
// plugin-api's createPluginWorker, which the conformance kit shares.
import { createPluginWorker } from '@conveyor/plugin-api';
import { workerData } from 'piscina';

const { entry, kind } = workerData as { entry: string; kind: string };

export default createPluginWorker(entry, kind);
