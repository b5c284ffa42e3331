import { createHash } from 'node:crypto';

/** A message attribute as the SQS JSON protocol carries it (binary values are base64 text). */
export interface AttributeValue {
  DataType: string;
  StringValue?: string | undefined;
  BinaryValue?: string | undefined;
}

/** `MD5OfMessageBody`: hex MD5 of the body's UTF-8 bytes (the SDK checks it). */
export function md5OfBody(body: string): string {
  return createHash('md5').update(body, 'utf8').digest('hex');
}

/**
 * `MD5OfMessageAttributes` by SQS's documented algorithm: attributes sorted by name; for each,
 * length-prefixed (4-byte big-endian) name and data type, a transport byte (1 string, 2 binary),
 * then the length-prefixed value. `undefined` when there are no attributes.
 */
export function md5OfAttributes(
  attributes: Readonly<Record<string, AttributeValue>>,
): string | undefined {
  const names = Object.keys(attributes).sort();
  if (names.length === 0) return undefined;
  const hash = createHash('md5');
  const prefixed = (bytes: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length);
    hash.update(bytes);
  };
  for (const name of names) {
    const value = attributes[name] as AttributeValue;
    prefixed(Buffer.from(name, 'utf8'));
    prefixed(Buffer.from(value.DataType, 'utf8'));
    if (value.BinaryValue !== undefined) {
      hash.update(Buffer.from([2]));
      prefixed(Buffer.from(value.BinaryValue, 'base64'));
    } else {
      hash.update(Buffer.from([1]));
      prefixed(Buffer.from(value.StringValue ?? '', 'utf8'));
    }
  }
  return hash.digest('hex');
}
