import { defineResourceType } from '@conveyor/plugin-api';
import { check } from './check.js';
import { get } from './get.js';
import { put } from './put.js';

/** Concourse's mock resource type: versions from its source and params, files from thin air. */
export default defineResourceType({ check, get, put });
