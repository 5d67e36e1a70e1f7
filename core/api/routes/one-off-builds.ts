import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { ConveyorError } from '../../errors/index.js';
import { limitBytes, payloadTooLarge } from '../byte-limit.js';
import type { Build } from '../generated/build.generated.js';
import type { BuildArtifactParams } from '../generated/build-artifact-params.generated.js';
import type { BuildParams } from '../generated/build-params.generated.js';
import type { CreateBuildRequest } from '../generated/create-build-request.generated.js';
import type { TeamParams } from '../generated/team-params.generated.js';
import { refs } from '../schemas.js';
import type { ApiDeps, FilledApiOptions } from '../types.js';
import { actor, clientGone } from './actor.js';

const tags = ['builds'];
const tarType = 'application/x-tar';
const tarBody = {
  description: 'A tar stream of the directory (what `tar -c -C DIR .` writes).',
};

/**
 * One-off builds for `cc execute`, like fly execute: create a pending build, upload each input as
 * a tar stream, start it, and once it finished download each output as a tar stream.
 */
export async function oneOffBuildRoutes(
  app: FastifyInstance,
  { deps, options }: { deps: ApiDeps; options: FilledApiOptions },
): Promise<void> {
  const { oneOffBuilds } = deps;

  // Tar bodies reach the handler as the raw request stream (this plugin only), so they are
  // streamed to the service instead of buffered, and fastify's JSON body limit does not apply.
  app.addContentTypeParser(tarType, (_request, payload, done) => done(null, payload));

  app.post<{ Params: TeamParams; Body: CreateBuildRequest; Reply: Build }>(
    '/teams/:team/builds',
    {
      schema: {
        operationId: 'createBuild',
        summary: 'Create a one-off build of a task (`cc execute`)',
        description:
          'The build waits in `pending` (with `pending_inputs`) until each input is uploaded and it is started.',
        tags,
        params: refs.teamParams,
        body: refs.createBuildRequest,
        response: { 201: { ...refs.build, description: 'The pending build.' } },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await oneOffBuilds.create(request.params.team, request.body, actor(request))),
  );

  app.put<{ Params: BuildArtifactParams; Body: unknown; Reply: Build }>(
    '/builds/:id/inputs/:name',
    {
      schema: {
        operationId: 'uploadBuildInput',
        summary: 'Upload one input of a pending one-off build as a tar stream',
        description:
          "The body is streamed to the build's volume as it arrives, up to the server's upload limit (413 beyond it). Uploading an input again replaces it. Answers with the build, whose `pending_inputs` no longer names the input.",
        tags,
        params: refs.buildArtifactParams,
        body: { content: { [tarType]: { schema: tarBody } } },
        response: { 200: refs.build },
      },
    },
    async (request, reply) => {
      if (!(request.body instanceof Readable)) {
        throw new ConveyorError(
          'CC_E_API_UNSUPPORTED_MEDIA_TYPE',
          `unsupported Content-Type: send the input as \`Content-Type: ${tarType}\``,
        );
      }
      const limit = options.maxUploadBytes;
      const declared = Number(request.headers['content-length']);
      if (Number.isFinite(declared) && declared > limit) {
        // Refused before reading: the client learns at once, and the connection is not reused
        // with an unread body in it.
        reply.header('connection', 'close');
        throw payloadTooLarge(limit);
      }
      const upload = limitBytes(request.body, limit);
      const signal = clientGone(reply);
      try {
        const build = await oneOffBuilds.uploadInput(request.params.id, request.params.name, upload.stream, {
          signal,
        });
        if (upload.exceeded()) throw payloadTooLarge(limit);
        return build;
      } catch (error) {
        // The service fails however it reads the truncated stream; the limit is the real reason.
        if (upload.exceeded()) {
          reply.header('connection', 'close');
          throw payloadTooLarge(limit);
        }
        throw error;
      }
    },
  );

  app.post<{ Params: BuildParams; Reply: Build }>(
    '/builds/:id/start',
    {
      schema: {
        operationId: 'startBuild',
        summary: 'Start a one-off build once its inputs are uploaded',
        tags,
        params: refs.buildParams,
        response: { 200: refs.build },
      },
    },
    async (request) => oneOffBuilds.start(request.params.id, actor(request)),
  );

  app.get<{ Params: BuildArtifactParams }>(
    '/builds/:id/outputs/:name',
    {
      schema: {
        operationId: 'downloadBuildOutput',
        summary: 'Download one output of a finished one-off build as a tar stream',
        tags,
        params: refs.buildArtifactParams,
        response: {
          200: {
            description: 'The output directory as a tar stream.',
            content: { [tarType]: { schema: tarBody } },
          },
        },
      },
    },
    async (request, reply) => {
      const tar = await oneOffBuilds.downloadOutput(request.params.id, request.params.name, {
        signal: clientGone(reply),
      });
      // fastify pipes the stream and destroys it if the client goes away first.
      return reply.type(tarType).send(tar);
    },
  );
}
