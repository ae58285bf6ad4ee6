/**
 * Type-level equality, for checking each response schema against the TypeScript type the handlers answer
 * with: `Expect<Equal<A, B>>` compiles only when A and B are the same type (optional and readonly included).
 */

/** True when A and B are identical types. */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only for `true`. */
export type Expect<T extends true> = T;
/** An intersection as one object type (Equal tells `{a} & {b}` from `{a, b}`). */
export type Flat<T> = { [K in keyof T]: T[K] } & {};
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
