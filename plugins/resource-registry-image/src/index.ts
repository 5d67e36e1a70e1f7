import { defineResourceType } from '@conveyor/plugin-api';
import { check } from './check.js';
import { get } from './get.js';
import { put } from './put.js';

/** Concourse's registry-image resource type: tracks, fetches and pushes images in OCI registries. */
export default defineResourceType({ check, get, put });
