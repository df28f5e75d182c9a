/**
 * The one vega-lite function hanlab calls. Only used where module resolution cannot read vega-lite's
 * `exports` map: tslab's compiler (Node10 resolution) compiles lib/ and would fail on the import.
 * The project's own tsc (NodeNext) resolves vega-lite's real types, which take precedence.
 */
declare module 'vega-lite' {
  export function compile(spec: object, options?: object): { spec: import('vega').Spec };
}
