// Registers Relance's search attributes on a namespace through the operator API.
// Safe to run twice: attributes already there with the right type are left alone,
// one there with another type is an error naming it.
//   npm run setup:search-attributes   (TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TLS / API key from the environment)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
// Default import: @temporalio/proto is CommonJS, and Node's ESM loader (tsx) sees no named exports.
import proto from '@temporalio/proto';
import { loadConfig } from '../config/index';
import { connectionOptions } from '../config/temporal';
import { SEARCH_ATTRIBUTE_CLI_ARGS } from '../contracts/search-attributes';

const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
const TYPES: Record<string, number> = {
  Keyword: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Double: IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Datetime: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  Text: IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  Int: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Bool: IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
};

export const WANTED: Record<string, number> = Object.fromEntries(
  SEARCH_ATTRIBUTE_CLI_ARGS.map((pair) => {
    const [name, type] = pair.split('=');
    return [name, TYPES[type]];
  }),
);

export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<{ added: string[]; present: string[] }> {
  let custom: Record<string, number>;
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    custom = (existing.customAttributes ?? {}) as Record<string, number>;
  } catch (err) {
    // The time-skipping test server implements AddSearchAttributes but not the listing.
    if ((err as { code?: number }).code !== 12 /* UNIMPLEMENTED */) throw err;
    custom = {};
  }
  const present: string[] = [];
  const missing: Record<string, number> = {};
  for (const [name, type] of Object.entries(WANTED)) {
    if (name in custom) {
      if (custom[name] !== type) {
        throw new Error(`search attribute ${name} exists on namespace ${namespace} with another type (${IndexedValueType[custom[name]]}, want ${IndexedValueType[type]})`);
      }
      present.push(name);
    } else missing[name] = type;
  }
  if (Object.keys(missing).length > 0) {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
  }
  return { added: Object.keys(missing), present };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const config = loadConfig();
  const connection = await Connection.connect(connectionOptions(config));
  try {
    const { added, present } = await registerSearchAttributes(connection, config.TEMPORAL_NAMESPACE);
    console.log(`namespace ${config.TEMPORAL_NAMESPACE}: added [${added.join(', ')}], already present [${present.join(', ')}]`);
  } catch (err) {
    console.error((err as Error).message);
    if ((err as { code?: number }).code === 7 /* PERMISSION_DENIED */) {
      console.error(
        `this identity may not call the operator API on ${config.TEMPORAL_NAMESPACE} (Temporal Cloud: use an admin API key, ` +
          `or add them in the Cloud UI / tcld): ${SEARCH_ATTRIBUTE_CLI_ARGS.join(', ')}`,
      );
    }
    process.exitCode = 1;
  } finally {
    await connection.close();
  }
}
