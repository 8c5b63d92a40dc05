/**
 * A number that Go would hold as float64 although JavaScript cannot tell it from an integer.
 *
 * The Kubernetes unstructured JSON decoder keeps integer literals as int64 and every other
 * number as float64, and `%v` prints the two differently: int64 1000000 gives "1000000",
 * float64 1e6 gives "1e+06". JSON.parse loses that distinction, so the decoder wraps every
 * integral number that Go holds as float64 in this marker: float literals (`1e6`,
 * `1000000.0`) and integer literals outside int64 range (`1000000000000000000000`, which Go
 * prints as "1e+21"). A plain integral JS number always means int64. Non-integral numbers
 * need no marker (they are always float64 in Go), but any number is accepted so callers
 * never have to check first.
 */
export class GoFloat64 {
  readonly value: number;

  /** Wraps `value`, a number that came from a float literal. */
  constructor(value: number) {
    this.value = value;
  }
}
