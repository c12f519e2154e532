// WebSocket-Node (the `websocket` package) as its README builds a server:
// a 'request' handler that accepts or rejects each Upgrade. MODE accept
// takes every client (and the first subprotocol it offers), protocol
// requires the subprotocol echo-protocol and rejects clients that offer
// none with a reason, origin allows only the origin https://app.example
// and rejects other clients (README: request.reject(), a 403). Usage:
// node websocket-node.js MODE. Prints "listening PORT", exits when stdin
// closes.
'use strict';
const http = require('http');
const WebSocketServer = require('websocket').server;

const mode = process.argv[2];
const server = http.createServer((req, res) => {
  res.writeHead(404);
  res.end();
});
const wsServer = new WebSocketServer({ httpServer: server, autoAcceptConnections: false });

wsServer.on('request', (request) => {
  let protocol = request.requestedProtocols[0] || null;
  if (mode === 'origin' && request.origin !== 'https://app.example') {
    request.reject();
    return;
  }
  if (mode === 'protocol') {
    if (!request.requestedProtocols.includes('echo-protocol')) {
      request.reject(400, 'subprotocol echo-protocol required');
      return;
    }
    protocol = 'echo-protocol';
  }
  const connection = request.accept(protocol, request.origin);
  connection.on('message', (message) => {
    if (message.type === 'utf8') connection.sendUTF(message.utf8Data);
  });
});
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
