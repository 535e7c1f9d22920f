/**
 * Tiny AttributeValue helpers (there is no lib-dynamodb here): build items from plain values, read
 * typed fields back, and measure an item against DynamoDB's 400 KiB limit before it is sent.
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { PayloadTooLargeError } from "../../../errors.js";

/** A DynamoDB item: attribute name → value. */
export type Item = Record<string, AttributeValue>;

/** DynamoDB's item size limit: 400 KiB, attribute names included. */
export const MAX_ITEM_BYTES = 400 * 1024;

/** A string attribute. */
export const S = (value: string): AttributeValue => ({ S: value });

/** A number attribute. */
export const N = (value: number | bigint): AttributeValue => ({ N: String(value) });

/** A boolean attribute. */
export const BOOL = (value: boolean): AttributeValue => ({ BOOL: value });

/** A map of strings. */
export const stringMap = (values: Readonly<Record<string, string>>): AttributeValue => ({
  M: Object.fromEntries(Object.entries(values).map(([key, value]) => [key, S(value)])),
});

/** A string field of an item, or undefined. */
export function str(item: Item | undefined, name: string): string | undefined {
  const value = item?.[name];
  return value !== undefined && "S" in value ? value.S : undefined;
}

/** A number field of an item, or undefined. */
export function num(item: Item | undefined, name: string): number | undefined {
  const value = item?.[name];
  return value !== undefined && "N" in value && value.N !== undefined ? Number(value.N) : undefined;
}

/** A map-of-strings field of an item, or undefined. */
export function strings(item: Item | undefined, name: string): Record<string, string> | undefined {
  const value = item?.[name];
  if (value === undefined || !("M" in value) || value.M === undefined) return undefined;
  return Object.fromEntries(Object.entries(value.M).map(([key, entry]) => [key, "S" in entry ? (entry.S ?? "") : ""]));
}

const utf8 = (text: string) => Buffer.byteLength(text, "utf8");

/** The size DynamoDB charges for one attribute value (numbers rounded up to their maximum). */
function valueSize(value: AttributeValue): number {
  if ("S" in value && value.S !== undefined) return utf8(value.S);
  if ("N" in value && value.N !== undefined) return 21;
  if ("B" in value && value.B !== undefined) return value.B.byteLength;
  if ("BOOL" in value || "NULL" in value) return 1;
  if ("M" in value && value.M !== undefined) return 3 + itemSize(value.M) + Object.keys(value.M).length;
  if ("L" in value && value.L !== undefined) return 3 + value.L.reduce((sum, entry) => sum + 1 + valueSize(entry), 0);
  if ("SS" in value && value.SS !== undefined) return value.SS.reduce((sum, entry) => sum + utf8(entry), 0);
  if ("NS" in value && value.NS !== undefined) return value.NS.length * 21;
  return 0;
}

/** The size of an item as DynamoDB counts it (names plus values), in bytes. */
export function itemSize(item: Item): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += utf8(name) + valueSize(value);
  return size;
}

/** Throw before sending an item DynamoDB would refuse for its size, naming the limit and the table. */
export function assertItemSize(item: Item, table: string): void {
  const size = itemSize(item);
  if (size > MAX_ITEM_BYTES) {
    throw new PayloadTooLargeError(`DynamoDB (an item of table ${table} holds at most 400 KiB)`, size, MAX_ITEM_BYTES);
  }
}
