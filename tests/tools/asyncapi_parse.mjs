// Parses the AsyncAPI document on stdin with the official parser (@asyncapi/parser) and
// prints its diagnostics as JSON: what an agency's code generator would be told.
import { Parser } from '@asyncapi/parser';
import fs from 'node:fs';

const document = fs.readFileSync(0, 'utf8');
const { diagnostics } = await new Parser().parse(document);
console.log(JSON.stringify(diagnostics.map((d) => ({
  code: d.code, severity: d.severity, message: d.message, path: d.path,
}))));
