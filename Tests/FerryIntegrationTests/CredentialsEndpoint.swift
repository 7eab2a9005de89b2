import FerryCore
import FerryTestSupport
import Foundation

/// A stand-in for the AWS endpoints that hand out expiring keys, on a loopback port: the
/// EC2 instance metadata service (IMDSv2: a session token, the role's name, its keys),
/// a container credentials URL (`/container`, wanting `Authorization: c0ntainer`), STS's
/// `AssumeRoleWithWebIdentity` (`POST /sts`, wanting the role `roleARN` and the token
/// `w3b-identity`; moto's STS cannot stand in: with signature checks on, it fails every
/// unsigned request), and `/process`, keys as a `credential_process` prints them (the
/// command `processCommand` fetches them). Each hands out the given key pair, expiring
/// `minutes` from now (with fractional seconds, as some endpoints write it), and logs
/// every time it does; `failAfterFirst` answers 500 to every request for keys after the
/// first.
final class CredentialsEndpoint: StandInServer, @unchecked Sendable {
    let log: String

    static let script = #"""
        import datetime, http.server, json, sys, threading, urllib.parse
        port, key, secret, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
        minutes, fail_after_first, ROLE = int(sys.argv[5]), sys.argv[6] == "fail", sys.argv[7]
        handed, lock = [], threading.Lock()
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def log_message(self, *args): pass
            def reply(self, status, body=""):
                data = body.encode()
                self.send_response(status); self.send_header("Content-Length", str(len(data))); self.end_headers()
                self.wfile.write(data)
            def keys(self, kind):
                with lock:
                    refused = fail_after_first and bool(handed)
                    if not refused:
                        handed.append(kind)
                        with open(log, "a") as f: f.write(kind + "\n")
                if refused: return self.reply(500)
                expiry = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=minutes)
                          ).strftime("%Y-%m-%dT%H:%M:%S.000Z")
                if kind == "web-identity":
                    return self.reply(200, "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>"
                        f"<AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
                        f"<Expiration>{expiry}</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
                        "</AssumeRoleWithWebIdentityResponse>")
                if kind == "process":
                    return self.reply(200, json.dumps({"Version": 1, "AccessKeyId": key, "SecretAccessKey": secret,
                                                       "Expiration": expiry}))
                self.reply(200, json.dumps({"AccessKeyId": key, "SecretAccessKey": secret, "Token": "", "Expiration": expiry}))
            def do_POST(self):
                form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
                wanted = {"Action": ["AssumeRoleWithWebIdentity"], "Version": ["2011-06-15"], "RoleArn": [ROLE],
                          "RoleSessionName": form.get("RoleSessionName", ["?"]), "WebIdentityToken": ["w3b-identity"]}
                if self.path != "/sts" or form != wanted:
                    return self.reply(400, "<ErrorResponse><Error><Code>InvalidIdentityToken</Code>"
                                           f"<Message>refused {sorted(form)}</Message></Error></ErrorResponse>")
                self.keys("web-identity")
            def do_PUT(self):
                ok = self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds")
                self.reply(200, "t0ken") if ok else self.reply(403)
            def do_GET(self):
                roles = "/latest/meta-data/iam/security-credentials/"
                if self.path == "/process": return self.keys("process")
                if self.path == "/container":
                    return self.keys("container") if self.headers.get("Authorization") == "c0ntainer" else self.reply(403)
                if self.headers.get("X-aws-ec2-metadata-token") != "t0ken": return self.reply(401)
                if self.path == roles: return self.reply(200, "ferry-role\n")
                if self.path == roles + "ferry-role": return self.keys("instance")
                self.reply(404)
        http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
        """#

    static func start(accessKey: String, secretKey: String, minutes: Int, failAfterFirst: Bool = false,
                      in dir: TemporaryDirectory) throws -> CredentialsEndpoint {
        try CredentialsEndpoint(log: dir.path + "/credentials-endpoint.log") { port, log in
            [String(port), accessKey, secretKey, log, String(minutes), failAfterFirst ? "fail" : "-", roleARN]
        }
    }

    private init(log: String, arguments: (Int, String) -> [String]) throws {
        self.log = log
        try super.init(script: Self.script) { arguments($0, log) }
    }

    /// The role STS hands keys out for.
    static let roleARN = "arn:aws:iam::123456789012:role/ferry"

    /// A `credential_process` that prints the keys `/process` hands out, and fails when it fails.
    var processCommand: String {
        "python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \(url)/process"
    }

    /// Which endpoint handed out keys, once per time.
    var handedOut: [String] { logLines(atPath: log) }

}
