// The PeerJS server (`peer` package) as its README starts it: path /myapp,
// key "peerjs"; clients connect to /myapp/peerjs?key=…&id=…&token=….
// Usage: node peer-server.js. Prints "listening PORT", exits when stdin
// closes.
'use strict';
const { PeerServer } = require('peer');

const server = PeerServer({ port: 0, host: '127.0.0.1', path: '/myapp', key: 'peerjs' }, (srv) => {
  console.log('listening ' + srv.address().port);
});
void server;
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
