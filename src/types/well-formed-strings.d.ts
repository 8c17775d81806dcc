// Node.js 20 implements these two ES2024 String methods (checked on 20.20). TypeScript declares them
// only in lib ES2024, which also declares APIs that Node.js 20 lacks, so the project keeps lib ES2023.
interface String {
  /** Returns false when the string contains a lone UTF-16 surrogate. */
  isWellFormed(): boolean
  /** Returns the string with each lone UTF-16 surrogate replaced by U+FFFD. */
  toWellFormed(): string
}
