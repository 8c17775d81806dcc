import { ServerException } from './exception.js'

/**
 * What the HTTP layer needs to know about one request's SQL before it hands
 * the SQL to the engine: whether the text contains more than one statement,
 * where an INSERT's inline data begins and which output format the text
 * names. chdb runs several `;`-separated statements in one call, while a
 * ClickHouse server rejects that, so this check has to happen here.
 */
export interface StatementInfo {
  /** Upper-cased first keyword, e.g. `SELECT`, `INSERT`, `CREATE`. */
  keyword: string
  /**
   * For `INSERT ... FORMAT <name>`: the offset in the text where the data
   * starts, following the server's rule (after the first newline that
   * follows the format name, else after the whitespace). Undefined otherwise.
   */
  dataOffset: number | undefined
  /** Format named by a `FORMAT <name>` clause: input format for an INSERT, output format otherwise. */
  format: string | undefined
}

type TokenKind = 'word' | 'quoted' | 'number' | 'semicolon' | 'open' | 'close' | 'other'

interface Token {
  kind: TokenKind
  start: number
  end: number
}

/** Number of characters of the query a syntax error shows, as the server does. */
const SHOWN_QUERY_CHARS = 160

/**
 * Inspects one request's SQL.
 *
 * @throws ServerException 62 SYNTAX_ERROR for an empty query or a second
 *   statement after the first `;`, with the server's message text.
 */
export function inspectStatement(text: string): StatementInfo {
  const lexer = new Lexer(text)
  const first = lexer.next()
  if (first === undefined || first.kind === 'semicolon') {
    throw new ServerException(62, 'SYNTAX_ERROR', 'Empty query')
  }
  const keyword = first.kind === 'word' ? text.slice(first.start, first.end).toUpperCase() : ''
  let depth = 0
  let previous: Token = first
  let format: string | undefined
  for (let token = lexer.next(); token !== undefined; token = lexer.next()) {
    if (token.kind === 'open') depth += 1
    else if (token.kind === 'close') depth = Math.max(0, depth - 1)
    else if (token.kind === 'semicolon' && depth === 0) {
      rejectFollowingStatement(text, token, lexer)
      break
    } else if (depth === 0 && isWord(text, previous, 'FORMAT') && token.kind === 'word') {
      const name = text.slice(token.start, token.end)
      if (keyword === 'INSERT') {
        return { keyword, dataOffset: insertDataOffset(text, token.end), format: name }
      }
      if (endsClause(text, lexer.peek())) format = name
    }
    previous = token
  }
  return { keyword, dataOffset: undefined, format }
}

function isWord(text: string, token: Token, word: string): boolean {
  return token.kind === 'word' && text.slice(token.start, token.end).toUpperCase() === word
}

/** True when the token after a `FORMAT <name>` pair is one that may follow the clause. */
function endsClause(text: string, next: Token | undefined): boolean {
  return next === undefined || next.kind === 'semicolon' || isWord(text, next, 'SETTINGS')
}

/** Applies the server's rule for where inline INSERT data begins after the format name. */
function insertDataOffset(text: string, formatEnd: number): number {
  let i = formatEnd
  while (i < text.length && isSpace(text.charCodeAt(i))) {
    if (text[i] === '\n') return i + 1
    i += 1
  }
  return i
}

/**
 * Throws the server's multi-statement error when anything but whitespace,
 * comments and further semicolons follows the first statement's `;`.
 */
function rejectFollowingStatement(text: string, semicolon: Token, lexer: Lexer): void {
  let token = lexer.next()
  while (token !== undefined && token.kind === 'semicolon') token = lexer.next()
  if (token === undefined) return
  throw new ServerException(62, 'SYNTAX_ERROR', multiStatementMessage(text, semicolon))
}

function multiStatementMessage(text: string, at: Token): string {
  // Positions count bytes from 1, and a multi-line query also gets its line
  // and column, as in the server's syntax errors.
  const position = Buffer.byteLength(text.slice(0, at.start)) + 1
  const before = text.slice(0, at.start)
  const lineBreaks = before.split('\n').length - 1
  const multiLine = text.indexOf('\n') !== -1 && text.indexOf('\n') < text.length - 1
  const lineAndColumn = multiLine
    ? ` (line ${lineBreaks + 1}, col ${at.start - before.lastIndexOf('\n')})`
    : ''
  const excerpt = text.slice(at.start, at.start + SHOWN_QUERY_CHARS)
  return (
    `Syntax error (Multi-statements are not allowed): failed at position ${position} ` +
    `(${text.slice(at.start, at.end)})${lineAndColumn}: ${excerpt}`
  )
}

function isSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d)
}

function isWordStart(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x5f || code >= 0x80
}

function isWordPart(code: number): boolean {
  return isWordStart(code) || (code >= 0x30 && code <= 0x39) || code === 0x24
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39
}

/**
 * A ClickHouse SQL tokenizer that recognizes only what the statement check needs:
 * quoted strings and identifiers (backslash escapes and doubled quotes),
 * `--`, `#` and nested `/* *\/` comments, heredocs (`$tag$...$tag$`),
 * brackets and semicolons. Everything else is a word, a number or a single
 * character.
 */
class Lexer {
  private position = 0
  private peeked: Token | undefined

  constructor(private readonly text: string) {}

  next(): Token | undefined {
    if (this.peeked !== undefined) {
      const token = this.peeked
      this.peeked = undefined
      return token
    }
    return this.read()
  }

  peek(): Token | undefined {
    this.peeked ??= this.read()
    return this.peeked
  }

  private read(): Token | undefined {
    this.skipInsignificant()
    const text = this.text
    const start = this.position
    if (start >= text.length) return undefined
    const char = text[start]
    const code = text.charCodeAt(start)
    if (char === "'" || char === '"' || char === '`') return this.quoted(start, char)
    if (char === '$') {
      const heredoc = this.heredoc(start)
      if (heredoc !== undefined) return heredoc
    }
    if (char === ';') return this.single(start, 'semicolon')
    if (char === '(' || char === '[' || char === '{') return this.single(start, 'open')
    if (char === ')' || char === ']' || char === '}') return this.single(start, 'close')
    if (isWordStart(code)) return this.run(start, 'word', isWordPart)
    if (isDigit(code)) return this.run(start, 'number', (c) => isWordPart(c) || c === 0x2e)
    return this.single(start, 'other')
  }

  private single(start: number, kind: TokenKind): Token {
    this.position = start + 1
    return { kind, start, end: start + 1 }
  }

  private run(start: number, kind: TokenKind, accept: (code: number) => boolean): Token {
    let i = start + 1
    while (i < this.text.length && accept(this.text.charCodeAt(i))) i += 1
    this.position = i
    return { kind, start, end: i }
  }

  /** Reads a quoted string or identifier; an unterminated one runs to the end of the text. */
  private quoted(start: number, quote: string): Token {
    const text = this.text
    let i = start + 1
    while (i < text.length) {
      const char = text[i]
      if (char === '\\') {
        i += 2
      } else if (char === quote) {
        if (text[i + 1] !== quote) break
        i += 2
      } else {
        i += 1
      }
    }
    this.position = Math.min(i + 1, text.length)
    return { kind: 'quoted', start, end: this.position }
  }

  private heredoc(start: number): Token | undefined {
    const match = /^\$([A-Za-z0-9_]*)\$/.exec(this.text.slice(start, start + 256))
    if (match === null) return undefined
    const tag = match[0]
    const close = this.text.indexOf(tag, start + tag.length)
    this.position = close === -1 ? this.text.length : close + tag.length
    return { kind: 'quoted', start, end: this.position }
  }

  private skipInsignificant(): void {
    const text = this.text
    for (;;) {
      const i = this.position
      if (i >= text.length) return
      if (isSpace(text.charCodeAt(i))) {
        this.position = i + 1
      } else if (text.startsWith('--', i) || text.startsWith('# ', i) || text.startsWith('#!', i)) {
        const lineEnd = text.indexOf('\n', i)
        this.position = lineEnd === -1 ? text.length : lineEnd + 1
      } else if (text.startsWith('/*', i)) {
        this.position = this.commentEnd(i)
      } else {
        return
      }
    }
  }

  /** Finds the end of a `/* ... *\/` comment, which may nest, as in ClickHouse. */
  private commentEnd(start: number): number {
    const text = this.text
    let depth = 0
    let i = start
    while (i < text.length) {
      if (text.startsWith('/*', i)) {
        depth += 1
        i += 2
      } else if (text.startsWith('*/', i)) {
        depth -= 1
        i += 2
        if (depth === 0) return i
      } else {
        i += 1
      }
    }
    return text.length
  }
}
