/**
 * A number that Go would hold as float64 although JavaScript cannot tell it from an integer.
 *
 * The Kubernetes unstructured JSON decoder keeps integer literals as int64 and every other
 * number (`1e6`, `1000000.0`, integers beyond int64) as float64, and `%v` prints the two
 * differently: int64 1000000 gives "1000000", float64 1e6 gives "1e+06". JSON.parse loses
 * that distinction, so the decoder wraps integral-valued float literals in this marker.
 * Non-integral numbers need no marker (they are always float64 in Go), but any number is
 * accepted so callers never have to check first.
 */
export class GoFloat64 {
  readonly value: number;

  /** Wraps `value`, a number that came from a float literal. */
  constructor(value: number) {
    this.value = value;
  }
}
