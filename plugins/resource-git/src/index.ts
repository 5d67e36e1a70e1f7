import { defineResourceType } from '@conveyor/plugin-api';
import { check } from './check.js';
import { get } from './get.js';
import { put } from './put.js';
import type { GitConfig } from './types.js';

/** Concourse's git resource type, on the host's git binary. */
export default defineResourceType<GitConfig>({ check, get, put });
