// AES-256-GCM payload codec, after temporalio/samples-typescript `encryption`: the whole
// Payload (metadata and data) is serialised and encrypted; the outer payload says
// `binary/encrypted` and names the key it was encrypted with (`encryption-key-id`), so
// keys rotate: new payloads use the current key (the first configured), older ones still
// decrypt while their key stays configured. The key id is also the cipher's additional
// authenticated data, so a payload relabelled with another key id fails to decrypt.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, ValueError, type Payload, type PayloadCodec } from '@temporalio/common';
// CommonJS: no named ESM exports under plain Node (dist/, the bundle-building child).
import proto from '@temporalio/proto';

const { temporal } = proto;

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const METADATA_KEY_ID = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface CodecKey {
  id: string;
  /** 32 bytes. */
  key: Buffer;
}

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const text = (b: Uint8Array | null | undefined) => (b ? Buffer.from(b).toString('utf8') : undefined);

export class AesGcmCodec implements PayloadCodec {
  private readonly keys: Map<string, Buffer>;
  readonly currentKeyId: string;

  /** `keys[0]` encrypts; every key decrypts what it encrypted. */
  constructor(keys: readonly CodecKey[]) {
    if (keys.length === 0) throw new Error('AesGcmCodec: at least one key');
    for (const k of keys) if (k.key.length !== 32) throw new Error(`AesGcmCodec: key ${k.id} is ${k.key.length} bytes, not 32`);
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
    this.currentKeyId = keys[0].id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.keys.get(this.currentKeyId)!;
    return payloads.map((payload) => {
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(this.currentKeyId, 'utf8'));
      const body = Buffer.concat([cipher.update(plain), cipher.final()]);
      return {
        metadata: { [METADATA_ENCODING_KEY]: utf8(ENCRYPTED_ENCODING), [METADATA_KEY_ID]: utf8(this.currentKeyId) },
        data: new Uint8Array(Buffer.concat([iv, body, cipher.getAuthTag()])),
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      // Payloads written before the codec (or by a codec-less client) pass through.
      if (text(payload.metadata?.[METADATA_ENCODING_KEY]) !== ENCRYPTED_ENCODING) return payload;
      const keyId = text(payload.metadata?.[METADATA_KEY_ID]);
      if (!keyId) throw new ValueError('Encrypted payload without an encryption key id');
      const key = this.keys.get(keyId);
      if (!key) throw new ValueError(`Payload encrypted with key "${keyId}", which is not configured (PAYLOAD_CODEC_KEYS)`);
      const data = Buffer.from(payload.data ?? []);
      if (data.length < IV_BYTES + TAG_BYTES) throw new ValueError('Encrypted payload too short');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(keyId, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      let plain: Buffer;
      try {
        plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      } catch {
        throw new ValueError(`Encrypted payload does not authenticate with key "${keyId}"`);
      }
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
