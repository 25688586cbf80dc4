import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The size of an item as DynamoDB counts it (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * each attribute's name in UTF-8 bytes plus its value: a string's UTF-8 bytes, a number's (significant digits / 2) + 1
 * bytes (rounded up), a binary's bytes, 1 byte for a boolean or null, and for a list or map 3 bytes plus 1 per element
 * plus its contents (a map's contents count their names too). Sets count their members.
 */
export function itemSizeBytes(item: Record<string, AttributeValue>): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) total += utf8(name) + valueSize(value);
  return total;
}

export function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((sum, member) => sum + utf8(member), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, member) => sum + numberSize(member), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, member) => sum + member.byteLength, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((sum, member) => sum + 1 + valueSize(member), 0);
  if (value.M !== undefined) return 3 + Object.entries(value.M).reduce((sum, [name, member]) => sum + 1 + utf8(name) + valueSize(member), 0);
  throw new TypeError(`unknown attribute value ${JSON.stringify(value)}`);
}

function numberSize(text: string): number {
  const digits = text.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

const utf8 = (text: string): number => Buffer.byteLength(text, 'utf8');
