"""A TCP echo server on 127.0.0.1: the real service that port-forward tests reach through kwok.

Usage: python3 echo_server.py PORT
Every connection gets back exactly the bytes it sent; a half-close from the client is answered by a
half-close once everything has been echoed, so a client can send N bytes, shut down its write side,
and read until EOF to check that all N came back.
"""

import socket
import sys
import threading


def serve(conn: socket.socket) -> None:
    with conn:
        while True:
            data = conn.recv(1 << 16)
            if not data:
                break
            conn.sendall(data)
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def main() -> None:
    port = int(sys.argv[1])
    listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
    listener.listen(128)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
