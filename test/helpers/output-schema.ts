// The --json contract (schema/output.schema.json), checked wherever a test reads a document.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';

const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'schema', 'output.schema.json'), 'utf8')) as { $defs: Record<string, unknown> };
const ajv = new Ajv2020({ allErrors: true, strict: true });
ajv.addSchema(schema, 'output');

export type Shape = keyof typeof schema.$defs & string;

/** Parses stdout as exactly one JSON document of the given shape, or throws saying what is wrong. */
export function outputDoc<T = Record<string, unknown>>(stdout: string, shape: string, stderr = ''): T {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new Error(`stdout is not one JSON document: ${JSON.stringify(stdout.slice(0, 200))}\n${stderr.slice(-2000)}`);
  }
  if (!(shape in schema.$defs)) throw new Error(`no shape "${shape}" in schema/output.schema.json`);
  const validate = ajv.getSchema(`output#/$defs/${shape}`)!;
  if (!validate(doc)) throw new Error(`the ${shape} document breaks the schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(doc).slice(0, 500)}`);
  return doc as T;
}
