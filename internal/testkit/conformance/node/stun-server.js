// A STUN server built on the `stun` package the way its documentation
// shows. Mode "new-tid" makes the common mistake of answering with a
// message created without the request's transaction ID.
// Usage: node stun-server.js [ok|new-tid]. Prints "listening PORT", exits
// when stdin closes.
'use strict';
const stun = require('stun');

const mode = process.argv[2] || 'ok';
const { STUN_BINDING_RESPONSE } = stun.constants;
const dgram = require('dgram');
const socket = dgram.createSocket('udp4');
const server = stun.createServer({ type: 'udp4', socket });

server.on('bindingRequest', (req, rinfo) => {
  const tid = mode === 'new-tid' ? undefined : req.transactionId;
  const res = stun.createMessage(STUN_BINDING_RESPONSE, tid);
  res.addXorAddress(rinfo.address, rinfo.port);
  server.send(res, rinfo.port, rinfo.address);
});
server.on('error', () => {});
socket.bind(0, '127.0.0.1', () => console.log('listening ' + socket.address().port));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
