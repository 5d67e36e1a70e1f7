import { existsSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { PROTO_DIR, PROTO_FILES, SERVICES, type ServiceName, serviceConstructor } from '../src/proto.js';

// The official definitions come from Debian's golang-github-containerd-containerd-dev; the files
// they import (gogoproto, containerd's fieldpath plugin, google/rpc) from its dependencies'
// -dev packages, all under /usr/share/gocode/src.
const GOCODE = '/usr/share/gocode/src';
const OFFICIAL_API = join(GOCODE, 'github.com/containerd/containerd/api');
const OFFICIAL_INCLUDES = [
  GOCODE,
  join(GOCODE, 'github.com/gogo/protobuf'),
  join(GOCODE, 'github.com/gogo/protobuf/protobuf'),
  join(GOCODE, 'github.com/gogo/googleapis'),
];

const haveOfficial = existsSync(OFFICIAL_API);
if (!haveOfficial) {
  const message = `containerd's official protos are missing at ${OFFICIAL_API}: install Debian's golang-github-containerd-containerd-dev`;
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING the containerd proto checks: ${message}\n`);
}

async function loadRoot(files: readonly string[], includes: readonly string[]): Promise<protobuf.Root> {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of includes) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  await root.load([...files], { keepCase: true });
  root.resolveAll();
  return root;
}

/** Every message, enum and service a root defines, by fully-qualified name, google.* left out. */
function definitions(root: protobuf.NamespaceBase): protobuf.ReflectionObject[] {
  const found: protobuf.ReflectionObject[] = [];
  for (const nested of root.nestedArray) {
    if (nested.fullName.startsWith('.google.')) continue;
    if (
      nested instanceof protobuf.Type ||
      nested instanceof protobuf.Enum ||
      nested instanceof protobuf.Service
    )
      found.push(nested);
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type)
      found.push(...definitions(nested as protobuf.NamespaceBase));
  }
  return found;
}

/** A field as the wire sees it: number, type (resolved to its full name), label, map key. */
function describeField(field: protobuf.Field) {
  const map = field instanceof protobuf.MapField ? { keyType: field.keyType } : {};
  return {
    name: field.name,
    id: field.id,
    type: field.resolvedType ? field.resolvedType.fullName : field.type,
    repeated: field.repeated,
    map: field.map,
    ...map,
  };
}

function describeMethod(method: protobuf.Method) {
  return {
    name: method.name,
    request: method.resolvedRequestType?.fullName,
    response: method.resolvedResponseType?.fullName,
    requestStream: Boolean(method.requestStream),
    responseStream: Boolean(method.responseStream),
  };
}

describe.skipIf(!haveOfficial)('containerd protos', () => {
  it('match the official containerd 1.6 definitions: every message, field, enum and rpc', async () => {
    const ours = await loadRoot(PROTO_FILES, [PROTO_DIR]);
    const officialFiles = PROTO_FILES.map((file) => join(GOCODE, file));
    const official = await loadRoot(officialFiles, OFFICIAL_INCLUDES);

    const problems: string[] = [];
    let checked = 0;
    for (const definition of definitions(ours)) {
      const name = definition.fullName;
      const theirs = official.lookup(name);
      if (!theirs) {
        problems.push(`${name}: not in the official protos`);
        continue;
      }
      checked++;
      if (definition instanceof protobuf.Type) {
        if (!(theirs instanceof protobuf.Type)) {
          problems.push(`${name}: officially not a message`);
          continue;
        }
        for (const field of definition.fieldsArray) {
          const match = theirs.fields[field.name];
          const mine = describeField(field);
          const expected = match ? describeField(match) : undefined;
          if (JSON.stringify(mine) !== JSON.stringify(expected))
            problems.push(
              `${name}.${field.name}: ours ${JSON.stringify(mine)}, official ${JSON.stringify(expected)}`,
            );
          checked++;
        }
      } else if (definition instanceof protobuf.Enum) {
        if (!(theirs instanceof protobuf.Enum)) {
          problems.push(`${name}: officially not an enum`);
          continue;
        }
        for (const [value, number] of Object.entries(definition.values)) {
          if (theirs.values[value] !== number)
            problems.push(`${name}.${value}: ours ${number}, official ${theirs.values[value]}`);
          checked++;
        }
      } else if (definition instanceof protobuf.Service) {
        if (!(theirs instanceof protobuf.Service)) {
          problems.push(`${name}: officially not a service`);
          continue;
        }
        for (const method of definition.methodsArray) {
          const match = theirs.methods[method.name];
          const mine = describeMethod(method);
          const expected = match ? describeMethod(match) : undefined;
          if (JSON.stringify(mine) !== JSON.stringify(expected))
            problems.push(
              `${name}/${method.name}: ours ${JSON.stringify(mine)}, official ${JSON.stringify(expected)}`,
            );
          checked++;
        }
      }
    }
    expect(problems).toEqual([]);
    // Guard against a loader that silently found nothing.
    expect(checked).toBeGreaterThan(200);
  });

  it('keep the package names the plugin calls', async () => {
    const ours = await loadRoot(PROTO_FILES, [PROTO_DIR]);
    for (const [, service] of Object.values(SERVICES))
      expect(ours.lookupService(service).fullName).toBe(`.${service}`);
  });

  it('load with @grpc/proto-loader as the plugin does', () => {
    for (const name of Object.keys(SERVICES) as ServiceName[]) {
      expect(typeof serviceConstructor(name)).toBe('function');
    }
    expect(Object.keys(serviceConstructor('tasks').service)).toContain('Wait');
  });
});
