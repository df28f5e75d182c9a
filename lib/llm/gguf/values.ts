/**
 * GGUF metadata values with their types, so that a value read from a file is written back with the
 * same type (llama.cpp checks the types of the keys it reads: `llama.context_length` must be a uint32).
 */
import type { GgufScalarType, GgufValueType } from './format.js';

export type GgufNumberType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'float64';
export type GgufBigIntType = 'uint64' | 'int64';

/** One item of an array: a bare JavaScript value of the array's item type, or a nested array. */
export type GgufItem = number | bigint | boolean | string | GgufArray;

export interface GgufArray {
  type: 'array';
  itemType: GgufValueType;
  items: GgufItem[];
}

export type GgufValue =
  | { type: GgufNumberType; value: number }
  | { type: GgufBigIntType; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | GgufArray;

/** Metadata in file order. */
export type GgufMetadata = Map<string, GgufValue>;

const INTEGER_RANGES: Record<string, readonly [number, number]> = {
  uint8: [0, 0xff], int8: [-0x80, 0x7f], uint16: [0, 0xffff], int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff], int32: [-0x80000000, 0x7fffffff],
};
const BIGINT_RANGES: Record<string, readonly [bigint, bigint]> = {
  uint64: [0n, 2n ** 64n - 1n], int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** Throws a RangeError/TypeError when `item` cannot be stored as `type` (a programming error). */
export function checkItem(type: GgufValueType, item: GgufItem, where: string): void {
  const fail = (why: string): never => {
    throw new RangeError(`GGUF ${where}: ${why}`);
  };
  switch (type) {
    case 'float32':
    case 'float64':
      if (typeof item !== 'number') fail(`${type} needs a number, got ${typeof item}`);
      return;
    case 'uint64':
    case 'int64': {
      if (typeof item !== 'bigint') fail(`${type} needs a bigint, got ${typeof item}`);
      const [low, high] = BIGINT_RANGES[type]!;
      if ((item as bigint) < low || (item as bigint) > high) fail(`${String(item)} is out of ${type}'s range`);
      return;
    }
    case 'bool':
      if (typeof item !== 'boolean') fail(`bool needs a boolean, got ${typeof item}`);
      return;
    case 'string':
      if (typeof item !== 'string') fail(`string needs a string, got ${typeof item}`);
      return;
    case 'array':
      if (typeof item !== 'object' || item === null || item.type !== 'array') fail('a nested array needs an array value');
      return;
    default: {
      const range = INTEGER_RANGES[type];
      if (!range) fail(`unknown value type ${String(type)}`);
      if (typeof item !== 'number' || !Number.isInteger(item)) fail(`${type} needs an integer, got ${String(item)}`);
      if ((item as number) < range![0] || (item as number) > range![1]) fail(`${String(item)} is out of ${type}'s range`);
    }
  }
}

/** The bare value of a typed value (an array's items for an array). */
export function plainValue(value: GgufValue): GgufItem | GgufItem[] {
  return value.type === 'array' ? value.items : value.value;
}

// Constructors, so that writers read as the metadata they write.
export const gguf = {
  uint8: (value: number): GgufValue => ({ type: 'uint8', value }),
  int8: (value: number): GgufValue => ({ type: 'int8', value }),
  uint16: (value: number): GgufValue => ({ type: 'uint16', value }),
  int16: (value: number): GgufValue => ({ type: 'int16', value }),
  uint32: (value: number): GgufValue => ({ type: 'uint32', value }),
  int32: (value: number): GgufValue => ({ type: 'int32', value }),
  float32: (value: number): GgufValue => ({ type: 'float32', value }),
  float64: (value: number): GgufValue => ({ type: 'float64', value }),
  uint64: (value: bigint): GgufValue => ({ type: 'uint64', value }),
  int64: (value: bigint): GgufValue => ({ type: 'int64', value }),
  bool: (value: boolean): GgufValue => ({ type: 'bool', value }),
  string: (value: string): GgufValue => ({ type: 'string', value }),
  array: (itemType: GgufValueType, items: GgufItem[]): GgufArray => ({ type: 'array', itemType, items }),
} satisfies Record<GgufScalarType | 'array', unknown>;
