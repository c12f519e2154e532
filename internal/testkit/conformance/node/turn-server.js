// node-turn on loopback with one long-term credential.
// Usage: node turn-server.js PORT USER PASSWORD. Prints "listening PORT",
// exits when stdin closes.
'use strict';
const Turn = require('node-turn');

const [port, user, password] = process.argv.slice(2);
const server = new Turn({
  listeningPort: Number(port),
  listeningIps: ['127.0.0.1'],
  relayIps: ['127.0.0.1'],
  authMech: 'long-term',
  credentials: { [user]: password },
  realm: 'node-turn.test',
  // NODE_TURN_DEBUG=TRACE shows node-turn's own log on stderr.
  debugLevel: process.env.NODE_TURN_DEBUG || 'OFF',
  log: (line) => process.stderr.write(line + '\n'),
});
server.start();
// node-turn binds asynchronously and has no listening event of its own.
setTimeout(() => console.log('listening ' + port), 200);
process.stdin.on('end', () => { server.stop(); process.exit(0); });
process.stdin.resume();
