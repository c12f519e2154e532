// y-webrtc's own signaling server (bin/server.js of the y-webrtc package),
// run unchanged: it listens on process.env.PORT on every interface, so
// listen() is held to 127.0.0.1 and a free port first. Usage: node
// y-webrtc-signaling.mjs. Prints "listening PORT", exits when stdin closes.
import http from 'http';

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function () {
  this.once('listening', () => console.log('listening ' + this.address().port));
  return listen.call(this, 0, '127.0.0.1');
};
const log = console.log;
console.log = (...args) => { if (String(args[0]).startsWith('listening ')) log(...args); };
// The package exports no ./bin path: the script is imported by file.
await import(new URL('./node_modules/y-webrtc/bin/server.js', import.meta.url));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
