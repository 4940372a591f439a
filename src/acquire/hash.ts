/** SHA-256 of a file, streamed: emulators are megabytes each. */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}
