#!/usr/bin/env node
/**
 * The engine over TCP on loopback: forwards 127.0.0.1:PORT to a unix socket, byte for byte, so the
 * docker CLI can be given DOCKER_HOST=tcp://127.0.0.1:PORT. Prints `listening PORT` once it is.
 *
 *   node forward.mjs PORT SOCKET
 */
import * as net from 'node:net'

const [port, socket] = process.argv.slice(2)
// half-open both ways: the CLI ends its side once stdin is sent, and still reads the container's output
const server = net.createServer({ allowHalfOpen: true }, client => {
  const engine = net.connect({ path: socket, allowHalfOpen: true })
  client.pipe(engine).pipe(client)
  const end = () => {
    client.destroy()
    engine.destroy()
  }
  client.on('error', end)
  engine.on('error', end)
  client.on('close', end)
  engine.on('close', end)
})
// port 0: any free port; the one it got is printed
server.listen(Number(port), '127.0.0.1', () => console.log(`listening ${server.address().port}`))
