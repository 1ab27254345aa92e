// The codec server (Temporal's remote codec protocol): POST /codec/decode and /codec/encode
// take and return `{ payloads: [{ metadata: { k: base64 }, data: base64 }] }` (Payloads as
// proto JSON), so staff read decrypted workflow inputs, memos and failures in the Temporal
// UI or the CLI. It needs a collector or admin API key: `Authorization: Bearer <key>`, or,
// for a browser UI that cannot add the header (the dev server's UI has no login), the key
// as a path segment (`/codec/key/<key>/decode`; the protocol only reads the URL's last
// segment). CORS admits the Temporal UI's origin only (CODEC_CORS_ORIGINS).
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Payload } from '@temporalio/common';
import cors from 'cors';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { payloadCodec } from '../codec/index';
import type { Config } from '../config/index';
import { problems } from './problem';
import { defineRoute, jsonResponse } from './route';

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const base64 = z.string().max(4_000_000).regex(BASE64_RE, 'must be base64');
const JsonPayloadSchema = z.object({
  // zod-to-openapi drops a record's key schema: the document gets it from here.
  metadata: z.record(z.string().max(200), base64).openapi({ propertyNames: { type: 'string', maxLength: 200 } } as never).nullish(),
  data: base64.nullish(),
});
const PayloadsSchema = z.object({ payloads: z.array(JsonPayloadSchema).max(10_000) }).openapi('CodecPayloads', {
  description: 'temporal.api.common.v1.Payloads in proto JSON: metadata values and data in base64',
});

type JsonPayload = z.infer<typeof JsonPayloadSchema>;

const fromJson = ({ metadata, data }: JsonPayload): Payload => ({
  metadata: metadata ? Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])) : {},
  data: data ? new Uint8Array(Buffer.from(data, 'base64')) : undefined,
});
const toJson = ({ metadata, data }: Payload): JsonPayload => ({
  metadata: metadata ? Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])) : {},
  ...(data ? { data: Buffer.from(data).toString('base64') } : {}),
});

const KEY_IN_PATH = /^\/codec\/key\/([^/]+)\/(encode|decode)$/;

/** Replaces any key given as a path segment with `***` (request logs). */
export function redactCodecKey(url: string): string {
  return url.replace(/\/codec\/key\/[^/?]+/, '/codec/key/***');
}

/**
 * Before the API key check: CORS for the UI's origin (preflights answered here), and a key
 * given in the path moved into the Authorization header, so one check serves both forms.
 */
export function codecPreamble(config: Pick<Config, 'codecCorsOrigins'>): RequestHandler[] {
  const corsHandler = cors({
    origin: config.codecCorsOrigins,
    methods: ['POST'],
    allowedHeaders: ['authorization', 'content-type', 'x-namespace'],
    maxAge: 600,
  });
  return [
    (req, res, next) => (req.path.startsWith('/codec/') ? corsHandler(req, res, next) : next()),
    (req, _res, next) => {
      const m = KEY_IN_PATH.exec(req.path);
      if (m) {
        req.headers.authorization = `Bearer ${decodeURIComponent(m[1])}`;
        req.url = `/codec/${m[2]}`;
      }
      next();
    },
  ];
}

export function codecRouter(deps: { config: Pick<Config, 'PAYLOAD_CODEC_KEYS'> }, registry: OpenAPIRegistry): Router {
  const router = Router();
  const codec = payloadCodec(deps.config);
  for (const op of ['decode', 'encode'] as const) {
    defineRoute(router, registry, {
      method: 'post',
      path: `/codec/${op}`,
      operationId: op === 'decode' ? 'codecDecode' : 'codecEncode',
      role: 'collector',
      summary:
        op === 'decode'
          ? 'Decrypt Temporal payloads (remote codec protocol; the Temporal UI calls it)'
          : 'Encrypt Temporal payloads with the current key (remote codec protocol)',
      description:
        'Also served as `/codec/key/{apiKey}/' + op + '` for a browser UI that cannot send the header. ' +
        'A payload encrypted with a key no longer configured is a 422.',
      tags: ['codec'],
      body: PayloadsSchema,
      responses: { 200: jsonResponse('The payloads, ' + (op === 'decode' ? 'decrypted' : 'encrypted'), PayloadsSchema) },
      handler: async ({ res, body }) => {
        let out: Payload[];
        try {
          const input = body.payloads.map(fromJson);
          out = op === 'decode' ? await codec.decode(input) : await codec.encode(input);
        } catch (err) {
          throw problems.field('payloads', (err as Error).message);
        }
        res.json({ payloads: out.map(toJson) });
      },
    });
  }
  return router;
}
