/**
 * A live object as named on the command line or in `/explain`: TYPE is a kind, plural or
 * singular resource name (any case), optionally followed by `.GROUP` as kubectl writes it
 * (`widget`, `widgets.example.com`, `Widget.example.com`).
 */
export interface LiveTarget {
  readonly type: string;
  readonly group: string | undefined;
  readonly name: string;
  /** Namespace of a namespaced object. @default "default" */
  readonly namespace: string | undefined;
}

/** `TYPE[.GROUP]/NAME`; undefined when the text is not of that form. */
export function parseLiveTarget(text: string, namespace: string | undefined): LiveTarget | undefined {
  const m = /^([A-Za-z][A-Za-z0-9-]*)(?:\.([a-z0-9][-a-z0-9.]*))?\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(
    text,
  );
  if (!m) return undefined;
  return { type: m[1]!, group: m[2], name: m[3]!, namespace };
}
