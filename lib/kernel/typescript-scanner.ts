/**
 * The part of a TypeScript module's API that the kernel's token work needs (the declarations' literal
 * widening, the traceback's position map): its scanner and the token kinds each one reads. Typed
 * structurally rather than as `typeof import('typescript')` because the module at run time is tslab's
 * own TypeScript 5.0, whose enum values differ from the project's 5.9.
 */
export interface TypeScriptScanner<Scanner, Kind extends string> {
  createScanner(languageVersion: number, skipTrivia: boolean, languageVariant: number, text: string): Scanner;
  ScriptTarget: { Latest: number };
  LanguageVariant: { Standard: number };
  SyntaxKind: Record<Kind, number>;
}
