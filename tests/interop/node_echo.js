// Echo server on the Node `ws` library, for klient's interop tests (ws_interop.rs).
//
// Listens on a free loopback port and prints it as the first line of stdout. Echoes every text and
// binary message; the text message "close:4000" makes the server close with code 4000 instead.
// permessage-deflate is negotiated when the client offers it.
'use strict';
const { WebSocketServer } = require('ws');

const server = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  maxPayload: 64 * 1024 * 1024,
  perMessageDeflate: { threshold: 0 },
});
server.on('listening', () => console.log(server.address().port));
server.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.toString() === 'close:4000') {
      ws.close(4000, 'asked to close');
      return;
    }
    ws.send(data, { binary: isBinary });
  });
});
