// A socket.io server as its documentation starts one: `new Server(httpServer)`
// on the default path /socket.io/ (Engine.IO protocol 4; clients speaking
// protocol 3 are refused unless allowEIO3), beside an HTTP handler that
// answers 404 elsewhere, as an app framework does. With "simple-peer" it is
// simple-peer-server instead, a socket.io signaling server for
// simple-peer. Usage: node socketio-server.js [simple-peer]. Prints
// "listening PORT", exits when stdin closes.
'use strict';
const http = require('http');

const server = http.createServer((req, res) => {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('Cannot GET ' + req.url.split('?')[0]);
});
if (process.argv[2] === 'simple-peer') {
  const SimplePeerServer = require('simple-peer-server');
  new SimplePeerServer(server);
} else {
  const { Server } = require('socket.io');
  const io = new Server(server);
  io.on('connection', (socket) => socket.emit('welcome'));
}
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
