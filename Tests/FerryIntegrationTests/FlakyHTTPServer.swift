import FerryCore
import FerryTestSupport
import Foundation

/// A small HTTP server (Python's http.server) that serves a folder for GET, HEAD and PUT
/// and answers the first `failures` requests for each method and path (those `failing`
/// names) with `status` (and `Retry-After`, when given) before behaving: a cache or CDN
/// having a bad moment. It logs into its root what it failed, what reached `/elsewhere/`
/// (where its 3xx answers point) and which reads carried credentials, so tests can see
/// retries, followed redirects and leaked tokens; it can also serve narinfos encoded.
final class FlakyHTTPServer: StandInServer, @unchecked Sendable {
    let root: String

    static let script = #"""
        import gzip, http.server, lzma, os, sys, threading
        root, port, failures, status, retry_after = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
        failing, narinfo_encoding = sys.argv[6].split(","), sys.argv[7]
        seen, lock = {}, threading.Lock()
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def flaky(self):
                if not any(f"{self.command} {self.path}".startswith(p) for p in failing): return False
                key = (self.command, self.path)
                with lock:
                    seen[key] = seen.get(key, 0) + 1
                    fail = seen[key] <= failures
                    if fail:
                        with open(os.path.join(root, ".failed"), "a") as log: log.write(f"{self.command} {self.path}\n")
                if fail:
                    length = int(self.headers.get("Content-Length") or 0)
                    if length: self.rfile.read(length)
                    self.send_response(status)
                    if retry_after != "-": self.send_header("Retry-After", retry_after)
                    if 300 <= status < 400: self.send_header("Location", "/elsewhere" + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                return fail
            def file(self):
                return os.path.join(root, self.path.lstrip("/").split("?")[0])
            def do_GET(self, head=False):
                if self.headers.get("Authorization"):
                    with open(os.path.join(root, ".authorized"), "a") as log: log.write(f"{self.command} {self.path}\n")
                if self.path.startswith("/elsewhere/"):
                    with open(os.path.join(root, ".elsewhere"), "a") as log: log.write(f"{self.command} {self.path}\n")
                    self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers(); return
                if self.flaky(): return
                path = self.file()
                if not os.path.isfile(path):
                    self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers(); return
                data = open(path, "rb").read()
                encoded = narinfo_encoding != "-" and path.endswith(".narinfo")
                if encoded and narinfo_encoding == "xz": data = lzma.compress(data)
                if encoded and narinfo_encoding == "gzip": data = gzip.compress(data)
                self.send_response(200); self.send_header("Content-Length", str(len(data)))
                if encoded: self.send_header("Content-Encoding", narinfo_encoding)
                self.end_headers()
                if not head: self.wfile.write(data)
            def do_HEAD(self): self.do_GET(head=True)
            def do_PUT(self):
                if self.path.startswith("/elsewhere/"):
                    with open(os.path.join(root, ".elsewhere"), "a") as log: log.write(f"{self.command} {self.path}\n")
                    self.send_response(201); self.send_header("Content-Length", "0"); self.end_headers(); return
                if self.flaky(): return
                data = self.rfile.read(int(self.headers["Content-Length"]))
                path = self.file()
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path + ".part", "wb") as f: f.write(data)
                os.rename(path + ".part", path)
                self.send_response(201); self.send_header("Content-Length", "0"); self.end_headers()
        http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """#

    /// Serves `root` (created if missing), failing each request that starts with one of
    /// `failing` (`PUT /nar/`; all by default) `failures` times first; `retryAfter` in
    /// seconds, or nil for no header. A 3xx status points to `/elsewhere/…`, which answers
    /// any GET or PUT with success. `narInfoEncoding` "xz" serves narinfos as S3 does those
    /// Nix wrote with `narinfo-compression=xz`: compressed, with `Content-Encoding: xz`; any
    /// other name is only sent as the header (gzip is compressed too).
    static func start(root: String, failures: Int = 0, status: Int = 500, retryAfter: Int? = nil,
                      failing: [String] = [""], narInfoEncoding: String? = nil) throws -> FlakyHTTPServer {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        return try FlakyHTTPServer(root: root) { port in
            [root, String(port), String(failures), String(status), retryAfter.map(String.init) ?? "-",
             failing.joined(separator: ","), narInfoEncoding ?? "-"]
        }
    }

    private init(root: String, arguments: (Int) -> [String]) throws {
        self.root = root
        try super.init(script: Self.script, arguments: arguments)
    }

    /// The requests it answered with its failure status.
    var failed: [String] { logLines(atPath: root + "/.failed") }

    /// The requests that reached `/elsewhere/…`.
    var elsewhere: [String] { logLines(atPath: root + "/.elsewhere") }

    /// The GET and HEAD requests that carried an `Authorization` header.
    var authorized: [String] { logLines(atPath: root + "/.authorized") }

}
