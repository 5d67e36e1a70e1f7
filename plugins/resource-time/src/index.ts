import { defineResourceType } from '@conveyor/plugin-api';
import { check } from './check.js';
import { get } from './get.js';
import { put } from './put.js';

/** Concourse's time resource type: versions on an interval, in a daily window, on chosen days. */
export default defineResourceType({ check, get, put });
