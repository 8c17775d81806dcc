import { inspectStatement, type StatementInfo } from './statement.js'

/** The statement of one request, split into SQL text and INSERT data. */
export interface AssembledStatement {
  sql: string
  /** Data of an `INSERT ... FORMAT <name>`; undefined for every other statement. */
  data: Buffer | undefined
  info: StatementInfo
}

/**
 * Builds the statement the way the HTTP interface reads it: the `query`
 * parameter, a newline, then the body. Without a `query` parameter the body
 * is the whole statement. For `INSERT ... FORMAT <name>` the text after the
 * format name is the data, kept as bytes so binary formats pass unchanged.
 *
 * @throws ServerException SYNTAX_ERROR for an empty query or several statements.
 */
export function assembleStatement(queryParameter: string | undefined, body: Buffer): AssembledStatement {
  if (queryParameter === undefined) return fromBody(body)
  const head = `${queryParameter}\n`
  const headInfo = inspectStatement(head)
  if (headInfo.dataOffset !== undefined) {
    const inlineData = Buffer.from(head.slice(headInfo.dataOffset))
    return {
      sql: head.slice(0, headInfo.dataOffset),
      data: inlineData.length === 0 ? body : Buffer.concat([inlineData, body]),
      info: headInfo,
    }
  }
  if (body.length === 0) return { sql: queryParameter, data: undefined, info: headInfo }
  const sql = head + body.toString('utf8')
  return { sql, data: undefined, info: inspectStatement(sql) }
}

function fromBody(body: Buffer): AssembledStatement {
  const text = body.toString('utf8')
  const info = inspectStatement(text)
  if (info.dataOffset === undefined) return { sql: text, data: undefined, info }
  const sql = text.slice(0, info.dataOffset)
  return { sql, data: body.subarray(Buffer.byteLength(sql)), info }
}
