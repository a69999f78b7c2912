#!/usr/bin/env python3
"""Opens many idle agent connections through a proxy (standard library only).

    idle.py PROXY_PORT CA_PEM URL COUNT READY_FILE

Each connection: CONNECT to URL's host, TLS through the tunnel (verifying
against CA_PEM), one keep-alive GET of URL, then nothing. Once COUNT are
open it writes how many succeeded to READY_FILE and holds them until it gets
SIGTERM (or stdin closes).
"""

import asyncio
import signal
import ssl
import sys
from urllib.parse import urlsplit

# Connections being set up at once: enough to be quick, few enough not to
# time out the proxy's handshakes on a 2-core machine.
SETTING_UP = 64


async def open_one(proxy_port, context, host, port, path):
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"CONNECT refused: {head[:80]!r}")
    await writer.start_tls(context, server_hostname=host)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"GET failed: {head[:80]!r}")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return writer


async def main(proxy_port, ca, url, count, ready_file):
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    context = ssl.create_default_context(cafile=ca)
    gate = asyncio.Semaphore(SETTING_UP)
    failures = []

    async def guarded():
        async with gate:
            try:
                return await open_one(proxy_port, context, parts.hostname, parts.port or 443, path)
            except Exception as e:  # noqa: BLE001 - every failure is counted and shown
                failures.append(repr(e))
                return None

    writers = [w for w in await asyncio.gather(*(guarded() for _ in range(count))) if w]
    with open(ready_file, "w") as f:
        f.write(f"{len(writers)}\n")
    if failures:
        print(f"idle.py: {len(failures)} connections failed, first: {failures[0]}", file=sys.stderr)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    for w in writers:
        w.close()


if __name__ == "__main__":
    if len(sys.argv) != 6:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    port, ca, url, count, ready = sys.argv[1:]
    asyncio.run(main(int(port), ca, url, int(count), ready))
