// Schema drift check without Prisma's schema engine (not downloadable offline).
//
// 1. schema.prisma is parsed by Prisma's own parser (@prisma/prisma-schema-wasm,
//    the same WASM module the Prisma CLI uses for `prisma generate`/`format`)
//    into its DMMF, and turned into the PostgreSQL schema `prisma migrate` would
//    create: tables, columns (type, nullability, default), primary keys, indexes
//    and unique indexes (Prisma's default names), foreign keys (with referential
//    actions) and enums.
// 2. The database is introspected through pg_catalog.
// 3. Both are compared; every difference is reported in plain words.
//
// Out of scope (not used by this project's schema; a difference there is not
// detected): views, multiple DB schemas (@@schema), relationMode = "prisma",
// index sort order/length/operator classes, check constraints, extensions.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

type SchemaWasm = typeof import('@prisma/prisma-schema-wasm');
const require = createRequire(import.meta.url);
let wasm: SchemaWasm | undefined;
function schemaWasm(): SchemaWasm {
  wasm ??= require('@prisma/prisma-schema-wasm') as SchemaWasm;
  return wasm;
}

export const DEFAULT_SCHEMA_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'prisma', 'schema.prisma');

// ---------------------------------------------------------------------------
// The normalised shape both sides are reduced to.

export interface ColumnShape {
  /** format_type() spelling without quotes, e.g. `timestamp(3) with time zone`, `text[]`, `CustomerKind`. */
  type: string;
  nullable: boolean;
  /** Normalised default expression (casts and quotes stripped), or null for none. `*` = "some default" (dbgenerated, list defaults). */
  default: string | null;
}
export interface IndexShape {
  unique: boolean;
  columns: string[];
  /** btree, hash, gin, gist, ... */
  method: string;
}
export interface ForeignKeyShape {
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: ReferentialAction;
  onUpdate: ReferentialAction;
}
export type ReferentialAction = 'CASCADE' | 'RESTRICT' | 'NO ACTION' | 'SET NULL' | 'SET DEFAULT';
export interface TableShape {
  columns: Record<string, ColumnShape>;
  primaryKey: { name: string; columns: string[] } | null;
  indexes: Record<string, IndexShape>;
  foreignKeys: Record<string, ForeignKeyShape>;
}
export interface DatabaseShape {
  enums: Record<string, string[]>;
  tables: Record<string, TableShape>;
}

export interface SchemaDifference {
  /** e.g. `table Invoice`, `column Invoice.stage`, `index Invoice_stage_idx`, `enum CustomerKind`. */
  object: string;
  /** What the schema expects vs what the database has. */
  message: string;
}

// ---------------------------------------------------------------------------
// schema.prisma → expected shape

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  isList: boolean;
  isRequired: boolean;
  isUpdatedAt: boolean;
  hasDefaultValue: boolean;
  type: string;
  nativeType?: [string, string[]] | null;
  default?: unknown;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  schema: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string;
  algorithm?: string;
  fields: { name: string }[];
}
interface DmmfEnum {
  name: string;
  dbName?: string | null;
  values: { name: string; dbName: string | null }[];
}
interface Datamodel {
  models: DmmfModel[];
  enums: DmmfEnum[];
  indexes: DmmfIndex[];
}

/** Parses Prisma schema text with Prisma's WASM parser. Throws with Prisma's validation message on an invalid schema. */
export function parseDatamodel(schemaText: string): Datamodel {
  let raw: string;
  try {
    raw = schemaWasm().get_dmmf(JSON.stringify({ prismaSchema: [['schema.prisma', schemaText]] }));
  } catch (err) {
    let message = err instanceof Error ? err.message : String(err);
    try {
      message = (JSON.parse(message) as { message?: string }).message ?? message;
    } catch {
      /* not JSON */
    }
    throw new Error(`schema.prisma is invalid:\n${message.replace(/\u001b\[[0-9;]*m/g, '')}`);
  }
  return (JSON.parse(raw) as { datamodel: Datamodel }).datamodel;
}

const PG_IDENTIFIER_MAX = 63;

/** Prisma's default constraint/index names: `<table>_<col>_<col>_<suffix>`, truncated to 63 characters. */
export function prismaDefaultName(table: string, columns: string[], suffix: 'pkey' | 'key' | 'idx' | 'fkey'): string {
  const tail = `_${suffix}`;
  const base = suffix === 'pkey' ? table : [table, ...columns].join('_');
  return base.length + tail.length > PG_IDENTIFIER_MAX ? base.slice(0, PG_IDENTIFIER_MAX - tail.length) + tail : base + tail;
}

function scalarPgType(field: DmmfField, enumDbNames: Map<string, string>): string {
  if (field.kind === 'enum') return enumDbNames.get(field.type) ?? field.type;
  const native = field.nativeType;
  if (native) {
    const [name, args] = native;
    const a = args.length ? `(${args.join(',')})` : '';
    switch (name) {
      case 'Text':
        return 'text';
      case 'Char':
        return `character${a || '(1)'}`;
      case 'VarChar':
        return `character varying${a}`;
      case 'Uuid':
        return 'uuid';
      case 'Xml':
        return 'xml';
      case 'Inet':
        return 'inet';
      case 'Citext':
        return 'citext';
      case 'Bit':
        return `bit${a || '(1)'}`;
      case 'VarBit':
        return `bit varying${a}`;
      case 'Integer':
        return 'integer';
      case 'SmallInt':
        return 'smallint';
      case 'Oid':
        return 'oid';
      case 'BigInt':
        return 'bigint';
      case 'DoublePrecision':
        return 'double precision';
      case 'Real':
        return 'real';
      case 'Decimal':
        return `numeric${a}`;
      case 'Money':
        return 'money';
      case 'Boolean':
        return 'boolean';
      case 'Timestamp':
        return `timestamp${a} without time zone`;
      case 'Timestamptz':
        return `timestamp${a} with time zone`;
      case 'Date':
        return 'date';
      case 'Time':
        return `time${a} without time zone`;
      case 'Timetz':
        return `time${a} with time zone`;
      case 'Json':
        return 'json';
      case 'JsonB':
        return 'jsonb';
      case 'ByteA':
        return 'bytea';
      default:
        return name.toLowerCase() + a;
    }
  }
  switch (field.type) {
    case 'String':
      return 'text';
    case 'Int':
      return 'integer';
    case 'BigInt':
      return 'bigint';
    case 'Float':
      return 'double precision';
    case 'Decimal':
      return 'numeric(65,30)';
    case 'Boolean':
      return 'boolean';
    case 'DateTime':
      return 'timestamp(3) without time zone';
    case 'Json':
      return 'jsonb';
    case 'Bytes':
      return 'bytea';
    default:
      return field.type;
  }
}

/** What default, if any, `prisma migrate` puts in the database for a field. */
function expectedDefault(field: DmmfField, enumValueDbNames: Map<string, Map<string, string>>): string | null {
  if (!field.hasDefaultValue || field.default === undefined) return null;
  const d = field.default;
  if (field.isList) return '*';
  if (d !== null && typeof d === 'object' && !Array.isArray(d) && 'name' in d) {
    const fn = (d as { name: string }).name;
    switch (fn) {
      case 'now':
        return 'CURRENT_TIMESTAMP';
      case 'autoincrement':
      case 'sequence':
        return 'nextval(*)';
      case 'dbgenerated':
        return '*';
      default:
        // uuid(), cuid(), nanoid(), ulid(): generated by Prisma Client, no database default.
        return null;
    }
  }
  if (field.kind === 'enum' && typeof d === 'string') {
    return enumValueDbNames.get(field.type)?.get(d) ?? d;
  }
  if (typeof d === 'boolean' || typeof d === 'number') return String(d);
  if (typeof d === 'string') return field.type === 'Json' ? normaliseJson(d) : d;
  return '*';
}

function normaliseJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return text;
  }
}

/** The PostgreSQL shape `prisma migrate diff --from-empty --to-schema` would produce for this schema. */
export function expectedShapeFromSchema(schemaText: string): DatabaseShape {
  const dm = parseDatamodel(schemaText);
  const enumDbNames = new Map(dm.enums.map((e) => [e.name, e.dbName ?? e.name]));
  const enumValueDbNames = new Map(dm.enums.map((e) => [e.name, new Map(e.values.map((v) => [v.name, v.dbName ?? v.name]))]));
  const modelByName = new Map(dm.models.map((m) => [m.name, m]));
  const tableOf = (m: DmmfModel) => m.dbName ?? m.name;
  const columnOf = (m: DmmfModel, fieldName: string) => {
    const f = m.fields.find((x) => x.name === fieldName);
    return f?.dbName ?? fieldName;
  };

  const shape: DatabaseShape = { enums: {}, tables: {} };
  for (const e of dm.enums) shape.enums[e.dbName ?? e.name] = e.values.map((v) => v.dbName ?? v.name);

  for (const m of dm.models) {
    const table = tableOf(m);
    const t: TableShape = { columns: {}, primaryKey: null, indexes: {}, foreignKeys: {} };
    for (const f of m.fields) {
      if (f.kind === 'object') continue;
      const base = f.kind === 'unsupported' ? f.type.toLowerCase() : scalarPgType(f, enumDbNames);
      t.columns[f.dbName ?? f.name] = {
        type: f.isList ? `${base}[]` : base,
        // Prisma never puts NOT NULL on list columns.
        nullable: f.isList ? true : !f.isRequired,
        default: expectedDefault(f, enumValueDbNames),
      };
    }
    for (const f of m.fields) {
      if (f.kind !== 'object' || !f.relationFromFields?.length) continue;
      const target = modelByName.get(f.type);
      if (!target) continue;
      const columns = f.relationFromFields.map((n) => columnOf(m, n));
      const allRequired = f.relationFromFields.every((n) => m.fields.find((x) => x.name === n)?.isRequired);
      const name = prismaDefaultName(table, columns, 'fkey');
      t.foreignKeys[name] = {
        columns,
        referencedTable: tableOf(target),
        referencedColumns: (f.relationToFields ?? []).map((n) => columnOf(target, n)),
        onDelete: toAction(f.relationOnDelete ?? (allRequired ? 'Restrict' : 'SetNull')),
        onUpdate: toAction(f.relationOnUpdate ?? 'Cascade'),
      };
    }
    shape.tables[table] = t;
  }

  for (const idx of dm.indexes) {
    const m = modelByName.get(idx.model);
    if (!m) continue;
    const table = tableOf(m);
    const t = shape.tables[table]!;
    const columns = idx.fields.map((f) => columnOf(m, f.name));
    if (idx.type === 'id') {
      t.primaryKey = { name: idx.dbName ?? prismaDefaultName(table, columns, 'pkey'), columns };
      continue;
    }
    if (idx.type === 'fulltext') continue; // MySQL only
    const unique = idx.type === 'unique';
    const name = idx.dbName ?? prismaDefaultName(table, columns, unique ? 'key' : 'idx');
    t.indexes[name] = { unique, columns, method: (idx.algorithm ?? 'BTree').toLowerCase() };
  }
  return shape;
}

function toAction(prismaAction: string): ReferentialAction {
  switch (prismaAction) {
    case 'Cascade':
      return 'CASCADE';
    case 'Restrict':
      return 'RESTRICT';
    case 'NoAction':
      return 'NO ACTION';
    case 'SetNull':
      return 'SET NULL';
    case 'SetDefault':
      return 'SET DEFAULT';
    default:
      throw new Error(`unknown referential action ${prismaAction}`);
  }
}

// ---------------------------------------------------------------------------
// database → actual shape

const ACTION_CODES: Record<string, ReferentialAction> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

/** Normalises a pg_get_expr() default: `'fr'::text` → `fr`, `'{}'::jsonb` → `{}`, `nextval('x_seq'::regclass)` → `nextval(*)`. */
export function normaliseDbDefault(expr: string): string {
  let e = expr.trim();
  if (/^nextval\(/i.test(e)) return 'nextval(*)';
  // strip outer parentheses and trailing casts, repeatedly: ('-1'::integer)::bigint
  for (;;) {
    const before = e;
    if (e.startsWith('(') && e.endsWith(')')) e = e.slice(1, -1).trim();
    e = e.replace(/::[a-zA-Z_"][\w" .]*(\(\d+(,\s*\d+)?\))?(\[\])?$/, '').trim();
    if (e === before) break;
  }
  if (e.startsWith("'") && e.endsWith("'")) e = e.slice(1, -1).replace(/''/g, "'");
  if (/^now\(\)$/i.test(e) || /^current_timestamp(\(\d\))?$/i.test(e)) return 'CURRENT_TIMESTAMP';
  return e;
}

/** Introspects one PostgreSQL schema (default `public`), leaving out `_prisma_migrations`. */
export async function introspectDatabase(client: pg.ClientBase, schema = 'public'): Promise<DatabaseShape> {
  const shape: DatabaseShape = { enums: {}, tables: {} };

  const enums = await client.query<{ name: string; values: string[] }>(
    `SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS values
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace JOIN pg_enum e ON e.enumtypid = t.oid
      WHERE n.nspname = $1 GROUP BY t.typname`,
    [schema],
  );
  for (const r of enums.rows) shape.enums[r.name] = r.values;

  const tables = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> '_prisma_migrations'`,
    [schema],
  );
  for (const r of tables.rows) shape.tables[r.name] = { columns: {}, primaryKey: null, indexes: {}, foreignKeys: {} };

  const columns = await client.query<{ table: string; column: string; type: string; notnull: boolean; def: string | null }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS def
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
    [schema],
  );
  for (const r of columns.rows) {
    const t = shape.tables[r.table];
    if (!t) continue;
    t.columns[r.column] = {
      type: r.type.replace(/"/g, ''),
      nullable: !r.notnull,
      default: r.def === null ? null : normaliseDbDefault(r.def),
    };
  }

  const indexes = await client.query<{
    table: string;
    name: string;
    unique: boolean;
    primary: boolean;
    method: string;
    columns: (string | null)[];
  }>(
    `SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
            am.amname AS method,
            ARRAY(SELECT a.attname::text FROM unnest(ix.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                    LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum
                   ORDER BY k.ord) AS columns
       FROM pg_index ix
       JOIN pg_class i ON i.oid = ix.indexrelid
       JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       JOIN pg_am am ON am.oid = i.relam
      WHERE n.nspname = $1`,
    [schema],
  );
  for (const r of indexes.rows) {
    const t = shape.tables[r.table];
    if (!t) continue;
    const cols = r.columns.map((c) => c ?? '<expression>');
    if (r.primary) t.primaryKey = { name: r.name, columns: cols };
    else t.indexes[r.name] = { unique: r.unique, columns: cols, method: r.method };
  }

  const fks = await client.query<{
    table: string;
    name: string;
    columns: string[];
    ref_table: string;
    ref_columns: string[];
    del: string;
    upd: string;
  }>(
    `SELECT t.relname AS table, con.conname AS name,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
            rt.relname AS ref_table,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS ref_columns,
            con.confdeltype::text AS del, con.confupdtype::text AS upd
       FROM pg_constraint con
       JOIN pg_class t ON t.oid = con.conrelid
       JOIN pg_class rt ON rt.oid = con.confrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = $1 AND con.contype = 'f'`,
    [schema],
  );
  for (const r of fks.rows) {
    const t = shape.tables[r.table];
    if (!t) continue;
    t.foreignKeys[r.name] = {
      columns: r.columns,
      referencedTable: r.ref_table,
      referencedColumns: r.ref_columns,
      onDelete: ACTION_CODES[r.del] ?? 'NO ACTION',
      onUpdate: ACTION_CODES[r.upd] ?? 'NO ACTION',
    };
  }
  return shape;
}

// ---------------------------------------------------------------------------
// comparison

const list = (xs: string[]) => `(${xs.join(', ')})`;

function defaultsMatch(expected: string | null, actual: string | null): boolean {
  if (expected === null || actual === null) return expected === actual;
  if (expected === '*') return true;
  if (expected === actual) return true;
  if (normaliseJson(expected) === normaliseJson(actual)) return true; // JSON spacing, numbers like 0 vs 0.0
  const n1 = Number(expected);
  const n2 = Number(actual);
  return expected.trim() !== '' && !Number.isNaN(n1) && n1 === n2;
}

/** Every difference between the expected (schema.prisma) and actual (database) shapes. Empty = no drift. */
export function compareShapes(expected: DatabaseShape, actual: DatabaseShape): SchemaDifference[] {
  const diffs: SchemaDifference[] = [];
  const add = (object: string, message: string) => diffs.push({ object, message });

  for (const [name, values] of Object.entries(expected.enums)) {
    const got = actual.enums[name];
    if (!got) add(`enum ${name}`, 'missing in the database');
    else if (got.join(',') !== values.join(',')) add(`enum ${name}`, `values ${list(values)} expected, database has ${list(got)}`);
  }
  for (const name of Object.keys(actual.enums)) {
    if (!expected.enums[name]) add(`enum ${name}`, 'exists in the database but not in schema.prisma');
  }

  for (const [tableName, et] of Object.entries(expected.tables)) {
    const at = actual.tables[tableName];
    if (!at) {
      add(`table ${tableName}`, 'missing in the database');
      continue;
    }
    for (const [col, ec] of Object.entries(et.columns)) {
      const ac = at.columns[col];
      const obj = `column ${tableName}.${col}`;
      if (!ac) {
        add(obj, 'missing in the database');
        continue;
      }
      if (ac.type !== ec.type) add(obj, `type ${ec.type} expected, database has ${ac.type}`);
      if (ac.nullable !== ec.nullable) add(obj, ec.nullable ? 'should be nullable, database has NOT NULL' : 'should be NOT NULL, database allows NULL');
      if (!defaultsMatch(ec.default, ac.default)) {
        add(obj, `default ${ec.default ?? '(none)'} expected, database has ${ac.default ?? '(none)'}`);
      }
    }
    for (const col of Object.keys(at.columns)) {
      if (!et.columns[col]) add(`column ${tableName}.${col}`, 'exists in the database but not in schema.prisma');
    }

    const epk = et.primaryKey;
    const apk = at.primaryKey;
    if (epk && !apk) add(`primary key ${epk.name}`, 'missing in the database');
    else if (!epk && apk) add(`primary key ${apk.name}`, 'exists in the database but not in schema.prisma');
    else if (epk && apk) {
      if (epk.name !== apk.name) add(`primary key of ${tableName}`, `named ${epk.name} expected, database has ${apk.name}`);
      if (epk.columns.join(',') !== apk.columns.join(','))
        add(`primary key ${epk.name}`, `columns ${list(epk.columns)} expected, database has ${list(apk.columns)}`);
    }

    for (const [name, ei] of Object.entries(et.indexes)) {
      const ai = at.indexes[name];
      const kind = ei.unique ? 'unique index' : 'index';
      if (!ai) {
        add(`${kind} ${name}`, `missing in the database (on ${tableName}${list(ei.columns)})`);
        continue;
      }
      if (ai.unique !== ei.unique) add(`${kind} ${name}`, ei.unique ? 'should be unique' : 'should not be unique');
      if (ai.columns.join(',') !== ei.columns.join(','))
        add(`${kind} ${name}`, `columns ${list(ei.columns)} expected, database has ${list(ai.columns)}`);
      if (ai.method !== ei.method) add(`${kind} ${name}`, `method ${ei.method} expected, database has ${ai.method}`);
    }
    for (const [name, ai] of Object.entries(at.indexes)) {
      if (!et.indexes[name]) add(`${ai.unique ? 'unique index' : 'index'} ${name}`, `exists in the database (on ${tableName}${list(ai.columns)}) but not in schema.prisma`);
    }

    for (const [name, ef] of Object.entries(et.foreignKeys)) {
      const af = at.foreignKeys[name];
      const obj = `foreign key ${name}`;
      if (!af) {
        add(obj, `missing in the database (${tableName}${list(ef.columns)} → ${ef.referencedTable}${list(ef.referencedColumns)})`);
        continue;
      }
      if (af.columns.join(',') !== ef.columns.join(',') || af.referencedTable !== ef.referencedTable || af.referencedColumns.join(',') !== ef.referencedColumns.join(','))
        add(
          obj,
          `${tableName}${list(ef.columns)} → ${ef.referencedTable}${list(ef.referencedColumns)} expected, database has ` +
            `${tableName}${list(af.columns)} → ${af.referencedTable}${list(af.referencedColumns)}`,
        );
      if (af.onDelete !== ef.onDelete) add(obj, `ON DELETE ${ef.onDelete} expected, database has ON DELETE ${af.onDelete}`);
      if (af.onUpdate !== ef.onUpdate) add(obj, `ON UPDATE ${ef.onUpdate} expected, database has ON UPDATE ${af.onUpdate}`);
    }
    for (const name of Object.keys(at.foreignKeys)) {
      if (!et.foreignKeys[name]) add(`foreign key ${name}`, 'exists in the database but not in schema.prisma');
    }
  }
  for (const tableName of Object.keys(actual.tables)) {
    if (!expected.tables[tableName]) add(`table ${tableName}`, 'exists in the database but not in schema.prisma');
  }
  return diffs;
}

export interface DiffSchemaOptions {
  /** Connection URL of the migrated database. */
  databaseUrl: string;
  /** Prisma schema text; if absent, read from schemaPath. */
  schemaText?: string;
  /** Default: prisma/schema.prisma next to this file. */
  schemaPath?: string;
  /** PostgreSQL schema to inspect. Default `public`. */
  dbSchema?: string;
}

/** Compares schema.prisma with a (migrated) database. Returns the differences; an empty array means no drift. */
export async function diffSchemaAgainstDatabase(options: DiffSchemaOptions): Promise<SchemaDifference[]> {
  const text = options.schemaText ?? (await readFile(options.schemaPath ?? DEFAULT_SCHEMA_PATH, 'utf8'));
  const expected = expectedShapeFromSchema(text);
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    const actual = await introspectDatabase(client, options.dbSchema ?? 'public');
    return compareShapes(expected, actual);
  } finally {
    await client.end().catch(() => {});
  }
}

/** One line per difference, for error messages and the db:check script. */
export function formatDifferences(diffs: SchemaDifference[]): string {
  return diffs.map((d) => `- ${d.object}: ${d.message}`).join('\n');
}
