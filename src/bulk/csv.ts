import type { BatchRowInput } from '../db/batches';
import { UsherError } from '../lib/errors';

/**
 * RFC 4180 CSV: fields may be quoted, quotes inside quoted fields are doubled, records end with CRLF or LF.
 * Returns the records as arrays of strings; a byte-order mark and wholly empty lines are dropped. Throws on an
 * unterminated quote, the one error that would silently merge rows.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRecord = () => {
    record.push(field);
    if (record.length > 1 || record[0] !== '') records.push(record);
    record = [];
    field = '';
  };
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\n') endRecord();
    else if (c === '\r' && text[i + 1] === '\n') {
      endRecord();
      i++;
    } else field += c;
  }
  if (quoted) throw new Error('a quoted field is not closed');
  if (field !== '' || record.length > 0) endRecord();
  return records;
}

const CSV_COLUMNS: Record<string, string> = {
  email: 'email',
  role: 'role',
  first_name: 'firstName',
  firstname: 'firstName',
  last_name: 'lastName',
  lastname: 'lastName',
  message: 'message',
};

/** A CSV upload with a header row naming its columns (email, role, first_name, last_name, message; any case). */
export function rowsFromCsv(text: string): BatchRowInput[] {
  if (text.includes('\u0000')) throw new UsherError('invalid-request', 'the CSV cannot be read: it contains the character U+0000');
  let records: string[][];
  try {
    records = parseCsv(text);
  } catch (err) {
    throw new UsherError('invalid-request', `the CSV cannot be read: ${(err as Error).message}`);
  }
  const [header, ...data] = records;
  if (!header) throw new UsherError('invalid-request', 'the CSV is empty');
  const columns = header.map((name) => {
    const key = CSV_COLUMNS[name.trim().toLowerCase().replace(/[\s-]/g, '_')];
    if (!key) throw new UsherError('invalid-request', `unknown CSV column "${name}"; use email, role, first_name, last_name, message`);
    return key;
  });
  if (!columns.includes('email')) throw new UsherError('invalid-request', 'the CSV needs an email column');
  return data.map((record) => {
    const row: BatchRowInput = {};
    columns.forEach((key, i) => {
      const value = record[i]?.trim();
      if (value) row[key] = value;
    });
    if (record.length !== columns.length) row.email = { malformed: `has ${record.length} fields, the header ${columns.length}` };
    return row;
  });
}
