// The top-level fields of a kind's spec and the JSON shape of each: the validator accepts exactly
// these keys (others are WEFT_E_UNKNOWN_FIELD), and `weft install` turns the same table into the
// CRD's structural schema, so the API server and the validator agree on what a spec may hold.
// Below the top level the CRD stays open; the validator (and `weft analyze`) checks the rest.
export type FieldShape =
  | 'string'
  | 'strings'
  | 'integer'
  | 'number'
  | 'boolean'
  | 'object'
  | 'objects'
  /** A map of string values (labels). */
  | 'stringMap'
  /** A map of integer values (WorkloadEntry ports). */
  | 'integerMap';

export type SpecShape = Readonly<Record<string, FieldShape>>;

/** The keys a validator's `fields()` call accepts. */
export const specFieldNames = (shape: SpecShape): readonly string[] => Object.keys(shape);
