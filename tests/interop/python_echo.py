"""Echo server on the Python `websockets` library, for klient's interop tests (ws_interop.rs).

Listens on a free loopback port and prints it as the first line of stdout. Echoes every text and
binary message; the text message "close:4000" makes the server close with code 4000 instead.
permessage-deflate is negotiated when the client offers it.
"""
import asyncio

from websockets.asyncio.server import serve


async def handler(ws):
    async for message in ws:
        if message == "close:4000":
            await ws.close(4000, "asked to close")
            return
        await ws.send(message)


async def main():
    # No message limit (the tests send 16 MiB) and no server pings (they would interleave with
    # the pongs a test waits for).
    async with serve(handler, "127.0.0.1", 0, max_size=None, ping_interval=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().create_future()


asyncio.run(main())
