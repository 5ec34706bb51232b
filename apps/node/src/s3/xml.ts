import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { S3Error } from './errors.js';

/** S3's XML namespace, on the root element of every answer. */
export const s3Namespace = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** A JSON shape of an XML document: element name → text, nested object, or array of repeats. */
export type XmlValue = string | number | boolean | XmlObject | XmlValue[];
export interface XmlObject {
  [name: string]: XmlValue | undefined;
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  suppressEmptyNode: false,
  processEntities: true,
  format: false,
});

/** The XML text of an answer: declaration, then `root` in the S3 namespace. Undefined fields are left out. */
export function toXml(root: string, body: XmlObject, namespace = true): string {
  const element = namespace ? { '@_xmlns': s3Namespace, ...body } : body;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: element })}`;
}

const repeated = new Set(['Object', 'Part']);

const parser = new XMLParser({
  ignoreAttributes: true,
  // Keys and ETags stay strings exactly as sent: no number parsing, no trimming.
  parseTagValue: false,
  trimValues: false,
  // Numeric character references (`&#34;`, which Go's encoder writes for quotes) need htmlEntities.
  processEntities: true,
  htmlEntities: true,
  ignoreDeclaration: true,
  isArray: (name) => repeated.has(name),
});

/**
 * Parses an XML request body, already bounded in size by the caller. Refuses DTDs outright (no entity
 * expansion of any kind) and anything that is not one element named `root`.
 */
export function parseXmlBody(text: string, root: string): XmlObject {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new S3Error('MalformedXML', 'DTDs are not accepted');
  let doc: unknown;
  try {
    doc = parser.parse(text, true);
  } catch {
    throw new S3Error('MalformedXML', 'the XML you provided was not well-formed');
  }
  const element = (doc as Record<string, unknown> | undefined)?.[root];
  if (element === undefined) throw new S3Error('MalformedXML', `the XML body must be one ${root} element`);
  return typeof element === 'object' && element !== null ? (element as XmlObject) : {};
}

/** The text of a child element, or undefined. Whitespace kept (it can be part of a key). */
export function childText(element: XmlObject, name: string): string | undefined {
  const value = element[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return '';
  throw new S3Error('MalformedXML', `${name} must be text`);
}

export function childArray(element: XmlObject, name: string): XmlObject[] {
  const value = element[name];
  if (value === undefined) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw new S3Error('MalformedXML', `${name} must be an element`);
    }
    return item as XmlObject;
  });
}
