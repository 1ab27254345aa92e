// The data converter every Relance Temporal client and worker uses: the AES-256-GCM
// payload codec with the configured keys, and the failure converter that moves failure
// messages and stack traces into (encrypted) payloads. The workflow bundle gets the same
// failure converter (worker/create-worker.ts workflowBundle()).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { loadConfig, LOCAL_DEV_CODEC_KEY_ID, type Config } from '../config/index';
import { AesGcmCodec } from './encryption';

export { AesGcmCodec, ENCRYPTED_ENCODING, METADATA_KEY_ID, type CodecKey } from './encryption';

/** require()d by the SDK (worker, client) and bundled by webpack (workflow sandbox). */
export const FAILURE_CONVERTER_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'codec', 'failure-converter.cjs');

const codecs = new WeakMap<object, AesGcmCodec>();
export function payloadCodec(config: Pick<Config, 'PAYLOAD_CODEC_KEYS'>): AesGcmCodec {
  let codec = codecs.get(config.PAYLOAD_CODEC_KEYS);
  if (!codec) {
    codec = new AesGcmCodec(config.PAYLOAD_CODEC_KEYS);
    codecs.set(config.PAYLOAD_CODEC_KEYS, codec);
  }
  return codec;
}

export function relanceDataConverter(config: Pick<Config, 'PAYLOAD_CODEC_KEYS'>): DataConverter {
  return { payloadCodecs: [payloadCodec(config)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

/** A production process on the public built-in key: say so at start (the laptop defaults apply, as for the other secrets). */
export function warnOnLocalDevKey(config: Pick<Config, 'NODE_ENV' | 'PAYLOAD_CODEC_KEYS'>, log: { warn(msg: string): void }): void {
  if (config.NODE_ENV === 'production' && config.PAYLOAD_CODEC_KEYS[0].id === LOCAL_DEV_CODEC_KEY_ID) {
    log.warn('PAYLOAD_CODEC_KEYS is unset: payloads are encrypted with the public local-dev key; set your own (docs/operations.md)');
  }
}

/** The data converter from this process's environment (tests, benches, scripts without a Config at hand). */
export function dataConverterFromEnv(): DataConverter {
  return relanceDataConverter(loadConfig());
}
