import FerryCore
import FerryTestSupport
import Foundation

/// A proxy on a loopback port in front of another server (moto), passing every request on
/// unchanged, signature and all, and every answer back, except for requests that the
/// fault's pattern matches (`METHOD part-of-the-path`):
/// - `.losing`: the first answer to each is dropped (the server has done the work, and
///   the connection closes before the client hears so), and a repeat of it is answered 404
///   `NoSuchUpload` without reaching the server, as S3 answers a completion of an upload it
///   completed already (moto answers 200 again);
/// - `.holding`: each answer is held back (`hold`) after the server has done the work, a
///   request in flight for a client to be stopped in;
/// - `.cutting`: the first answer to each is cut off half-way through its body, the
///   connection closed (a server that died mid-download); a repeat passes.
///
/// It logs each answer it drops (`dropped`), holds (`held`), cuts (`cut`) and each repeat
/// it refuses.
final class FaultyProxy: StandInServer, @unchecked Sendable {
    let log: String

    static let script = #"""
        import http.client, http.server, socket, sys, threading, time
        port, upstream, mode, log, hold = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[5], float(sys.argv[6])
        pattern = sys.argv[4].split(" ", 1)
        dropped, lock = set(), threading.Lock()
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                matches = self.command == pattern[0] and pattern[1] in self.path
                with lock:
                    repeat = mode == "losing" and matches and self.path in dropped
                if repeat:
                    with open(log, "a") as f: f.write(f"refused {self.command} {self.path}\n")
                    error = b"<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>"
                    self.send_response(404); self.send_header("Content-Length", str(len(error))); self.end_headers()
                    return self.wfile.write(error)
                server = http.client.HTTPConnection("127.0.0.1", upstream)
                server.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                answer = server.getresponse()
                data = answer.read()
                if mode == "holding" and matches:
                    with open(log, "a") as f: f.write(f"held {self.command} {self.path} {answer.status}\n")
                    time.sleep(hold)
                with lock:
                    first = mode in ("losing", "cutting") and matches and self.path not in dropped
                    if first:
                        dropped.add(self.path)
                        with open(log, "a") as f: f.write(f"{'dropped' if mode == 'losing' else 'cut'} {self.command} {self.path} {answer.status}\n")
                if first and mode == "losing":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(answer.status)
                headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in ("transfer-encoding", "connection")]
                for k, v in headers: self.send_header(k, v)
                if not any(k.lower() == "content-length" for k, _ in headers): self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if first:
                    self.wfile.write(data[:len(data) // 2]); self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if self.command != "HEAD": self.wfile.write(data)
            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = forward
        http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """#

    /// What it does to the requests a pattern matches.
    enum Fault: String {
        case losing, holding, cutting
    }

    /// `hold`: how long `.holding` holds an answer back.
    static func start(before upstream: Int, _ fault: Fault, _ pattern: String, hold: Duration = .seconds(2),
                      in dir: TemporaryDirectory) throws -> FaultyProxy {
        let log = dir.path + "/faulty-proxy.log"
        return try FaultyProxy(log: log) { port in [String(port), String(upstream), fault.rawValue, pattern, log, String(hold.seconds)] }
    }

    private init(log: String, arguments: (Int) -> [String]) throws {
        self.log = log
        try super.init(script: Self.script, arguments: arguments)
    }

    /// What it did: `dropped METHOD PATH STATUS`, `held METHOD PATH STATUS` and `cut METHOD
    /// PATH STATUS` (the status the server had given), and `refused METHOD PATH`.
    var actions: [String] { logLines(atPath: log) }

}
