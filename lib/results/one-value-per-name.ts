/**
 * The rule both the kernel (as results are emitted) and the report (reading an executed notebook)
 * enforce: a report keeps one value per result name and must never pick one of two silently. A second
 * value of a name is refused unless its emit said `{ replace: true }`, except that a cell run again
 * replaces what its earlier run emitted (Jupyter replaces that run's outputs too).
 */

/** Where a result was emitted: one execution of a cell, and the cell when it is known. */
export interface EmitSite {
  /** One execution: two emits with the same `run` came from the same cell run. */
  run: number;
  /** The cell (its id, or its index in a saved notebook); undefined when the front end did not say. */
  cell?: string | number;
}

/** Whether `later` would give the name a second value next to `earlier`'s (an error). */
export function isSecondValue(earlier: EmitSite, later: EmitSite, replace: boolean): boolean {
  if (replace) return false;
  if (earlier.run === later.run) return true;
  return earlier.cell !== undefined && later.cell !== undefined && earlier.cell !== later.cell;
}
