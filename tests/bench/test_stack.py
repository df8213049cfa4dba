"""The bench waits for a server to answer every request in flight before it puts the
bench subscription back: it reads the server's open connections from /proc/net/tcp."""

import socket

from bench.stack import drain, unanswered


def test_a_connection_counts_until_the_server_closes_it():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert unanswered(port) == 0

        client = socket.create_connection(("127.0.0.1", port))
        assert unanswered(port) == 1  # queued, not yet accepted

        accepted, _ = server.accept()
        client.close()
        assert unanswered(port) == 1  # the client is gone; its request is still ours

        accepted.close()
        drain(port)  # returns at once
        assert unanswered(port) == 0
