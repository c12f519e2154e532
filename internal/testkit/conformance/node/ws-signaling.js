// Signaling as WebRTC tutorials build it on the `ws` package: greet each
// client, parse JSON messages with a `type` field, relay offers, answers
// and candidates to the other clients. With CERT and KEY it serves wss://.
// Usage: node ws-signaling.js [CERT KEY]. Prints "listening PORT", exits
// when stdin closes.
'use strict';
const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer, WebSocket } = require('ws');

const [cert, key] = process.argv.slice(2);
const server = cert
  ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) })
  : http.createServer();
const wss = new WebSocketServer({ server });

wss.on('connection', (ws) => {
  ws.send(JSON.stringify({ type: 'welcome' }));
  ws.on('message', (data) => {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch (e) {
      ws.send(JSON.stringify({ type: 'error', message: 'invalid JSON' }));
      return;
    }
    if (['offer', 'answer', 'candidate'].includes(msg.type)) {
      wss.clients.forEach((c) => {
        if (c !== ws && c.readyState === WebSocket.OPEN) c.send(JSON.stringify(msg));
      });
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
