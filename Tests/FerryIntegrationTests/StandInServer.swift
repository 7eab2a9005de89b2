import FerryCore
import FerryTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A stand-in server: a Python script listening on a free loopback port, until `stop`.
/// The servers built on it add their script and what they log. Every stored property is a
/// constant set before the server is shared.
class StandInServer: @unchecked Sendable {
    let port: Int
    private let process: ChildProcess

    /// Runs `python3 -c script` with the arguments `arguments` makes of its port, and waits
    /// until it listens.
    init(script: String, arguments: (Int) -> [String]) throws {
        port = try freePort()
        process = try startServer(["python3", "-c", script] + arguments(port), on: port)
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() { process.kill(SIGKILL) }
}
