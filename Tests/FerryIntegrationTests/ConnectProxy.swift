import FerryCore
import FerryTestSupport
import Foundation

/// An HTTP proxy on a loopback port that takes only `CONNECT host:port` (as AsyncHTTPClient
/// reaches every server through a proxy) and pipes bytes both ways; it logs each request
/// line it gets.
final class ConnectProxy: StandInServer, @unchecked Sendable {
    let log: String

    static let script = #"""
        import socket, sys, threading
        port, log = int(sys.argv[1]), sys.argv[2]
        def pipe(source, sink):
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:
                pass
            finally:
                try: sink.shutdown(socket.SHUT_WR)
                except OSError: pass
        def serve(client):
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = client.recv(4096)
                if not chunk: return client.close()
                head += chunk
            line = head.split(b"\r\n")[0].decode()
            with open(log, "a") as f: f.write(line + "\n")
            method, target = line.split(" ")[:2]
            if method != "CONNECT":
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return client.close()
            host, target_port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(target_port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = head.split(b"\r\n\r\n", 1)[1]
            if rest: upstream.sendall(rest)
            threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
            pipe(upstream, client)
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(64)
        while True:
            connection, _ = server.accept()
            threading.Thread(target=serve, args=(connection,), daemon=True).start()
        """#

    init(log: String) throws {
        self.log = log
        try super.init(script: Self.script) { port in [String(port), log] }
    }

    /// The request lines it got so far.
    var requests: [String] { logLines(atPath: log) }
}
