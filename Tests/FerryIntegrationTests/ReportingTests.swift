import FerryCore
import FerryTestSupport
import Foundation
import Testing

@Suite("--json events and the progress display", Peers.nix)
struct ReportingTests {
    @Test("--json: stdout is only JSON events, one per line, that tell the whole run")
    func jsonEvents() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = try run([ferryBinary, "copy-closure", "--json", "--to", "file://\(dir.path)/cache", top.path])
        let events = try output.lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
        let kinds = events.map { $0["event"] as? String ?? "?" }
        #expect(kinds.first == "plan" && kinds.last == "summary", "\(kinds)")
        #expect(kinds.filter { $0 == "copied" }.count == all.count)
        #expect(kinds.filter { $0 == "published" }.count == all.count)
        let copied = events.filter { $0["event"] as? String == "copied" }
        for event in copied {
            let path = try StorePath(try #require(event["path"] as? String))
            let narinfo = try NarInfo(parsing: String(contentsOfFile: "\(dir.path)/cache/\(path.hashPart).narinfo", encoding: .utf8))
            #expect(event["nar_hash"] as? String == narinfo.info.narHash.description)
            #expect(event["file_hash"] as? String == narinfo.fileHash?.description)
            #expect((event["nar_size"] as? NSNumber)?.uint64Value == narinfo.info.narSize)
            #expect(event["seconds"] is NSNumber && event["memory_wait_seconds"] is NSNumber)
        }
        let summary = try #require(events.last)
        #expect(summary["copied"] as? Int == all.count)
        #expect(summary["exit_code"] as? Int == 0)
        #expect((summary["failed"] as? [Any])?.isEmpty == true)
        #expect(output.stderr.contains("\(all.count) copied"), "the human summary goes to stderr")

        let again = try run([ferryBinary, "copy-closure", "--json", "--to", "file://\(dir.path)/cache", top.path])
        #expect(again.lines.compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["event"] as? String
        }.filter { $0 == "skipped" }.count == all.count)
    }

    @Test("a reader that goes away (| head) costs the output, not the copy: exit 0, and the cache is whole",
          arguments: ["2>&1 >/dev/null", "--json 2>/dev/null"])
    func readerGone(redirection: String) throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let copy = "\(ferryBinary) copy-closure -v \(redirection.hasPrefix("--json") ? "--json" : "") --to file://\(dir.path)/cache \(top.path)"
            + " \(redirection.replacingOccurrences(of: "--json ", with: ""))"
        let output = try run(["bash", "-c", "set -o pipefail; \(copy) | head -c 1 >/dev/null"], check: false)
        #expect(output.status == 0, "\(output.stderr)")
        try run(["nix", "store", "verify", "--store", "file://\(dir.path)/cache", "--no-trust", "-r", top.path])
        #expect(try narinfos(in: dir.path + "/cache").count == all.count)
    }

    @Test("-v adds a line for each step of each path; -vv adds debug logs; neither changes without them")
    func verbosity() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        func lines(_ flags: [String], _ cache: String) throws -> [String] {
            try run([ferryBinary, "copy-closure"] + flags + ["--to", "file://\(dir.path)/\(cache)", top.path]).stderr
                .split(separator: "\n").map(String.init)
        }
        let plain = try lines([], "a"), detailed = try lines(["-v"], "b"), debug = try lines(["-vv"], "c")
        for prefix in ["starting /nix/store/", "published /nix/store/"] {
            #expect(!plain.contains { $0.hasPrefix(prefix) }, "\(prefix) without -v")
            #expect(detailed.filter { $0.hasPrefix(prefix) }.count == all.count, "\(prefix) with -v: \(detailed)")
        }
        #expect(!detailed.contains { $0.contains(" debug ") })
        #expect(debug.contains { $0.contains(" debug ") && $0.contains("asked the destination") }, "\(debug)")
        #expect(try lines(["-v"], "b").filter { $0.hasPrefix("already there /nix/store/") }.count == all.count)
    }

    @Test("--json: a run that cannot start, or a command line refused, says so as an error event with its exit code")
    func jsonError() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let output = try run([ferryBinary, "copy-closure", "--json", "--from", "file://\(dir.path)/none", "--to",
                              "file://\(dir.path)/cache", "--no-check-sigs", "/nix/store/00000000000000000000000000000000-x"],
                             check: false)
        // The source's URL names no cache: a configuration error.
        #expect(output.status == 2)
        let event = try #require(try JSONSerialization.jsonObject(with: Data(output.text.utf8)) as? [String: Any])
        #expect(event["event"] as? String == "error")
        #expect((event["error"] as? String)?.contains("nix-cache-info") == true)
        #expect(event["exit_code"] as? Int == 2)
        // A command line refused before any run, too.
        let refused = try run([ferryBinary, "copy-closure", "--json", "--bogus", "--to", "file://\(dir.path)/cache",
                               "/nix/store/00000000000000000000000000000000-x"], check: false)
        let refusal = try #require(try JSONSerialization.jsonObject(with: Data(refused.text.utf8)) as? [String: Any])
        #expect(refused.status == 2 && refusal["event"] as? String == "error" && refusal["exit_code"] as? Int == 2, "\(refused.text)")
        #expect((refusal["error"] as? String)?.contains("--bogus") == true)
    }

    @Test("on a terminal, a status line shows paths done of all and bytes in and out; not when piped",
          Peers.requiring("script"))
    func progressOnTerminal() throws {
        let (top, all) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let command = "\(ferryBinary) copy-closure --to file://\(dir.path)/cache \(top.path)"
        let terminal = try run(["script", "-qec", command, "/dev/null"], environment: nixEnvironment.merging(["TERM": "xterm"]) { $1 })
        #expect(terminal.text.contains("[\(all.count)/\(all.count) paths]"), "\(terminal.text)")
        #expect(terminal.text.contains(" in → ") && terminal.text.contains(" out, "))
        #expect(terminal.text.contains("\u{1B}[K"), "the line is redrawn in place")
        let piped = try run([ferryBinary, "copy-closure", "--to", "file://\(dir.path)/cache2", top.path])
        #expect(!piped.stderr.contains("paths]") && !piped.stderr.contains("\u{1B}"))
    }

    @Test("on a terminal, a log record (a long wait for memory) starts on a line of its own, not glued to the status line",
          Peers.requiring("script"))
    func logAboveStatus() throws {
        let (top, _) = try NixStore.closure.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // Room for one exec stream at a time, each a second long: the others wait, and say so.
        try """
            [limiter]
            memory = "70MiB"
            warn-after = "0.2s"
            [codec]
            plugin = "exec"
            command = ["sh", "-c", "sleep 1; gzip -1 -c"]
            compression = "gzip"
            [backend]
            plugin = "file"
            path = "\(dir.path)/cache"
            """.write(toFile: dir.path + "/p.toml", atomically: true, encoding: .utf8)
        let terminal = try run(["script", "-qec", "\(ferryBinary) run --jobs 2 \(dir.path)/p.toml \(top.path)", "/dev/null"],
                               environment: nixEnvironment.merging(["TERM": "xterm"]) { $1 })
        // Each record, its timestamp first, begins a line or follows a cleared status line.
        let records = terminal.text.matches(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} warning ferry: /#)
        #expect(!records.isEmpty, "no wait was logged: \(terminal.text)")
        for record in records {
            let before = terminal.text[..<record.range.lowerBound]
            #expect(before.isEmpty || before.hasSuffix("\n") || before.hasSuffix("\r\u{1B}[K"), "\(before.suffix(80))")
        }
    }

    @Test("on a terminal, a path's bytes show on the status line while it streams, not only once it is copied",
          Peers.requiring("script"))
    func progressWhileStreaming() throws {
        let big = try NixStore.bigPath.get()
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // A compressor that reads nothing for its first two seconds: the NAR stops at what
        // the pipes hold, and the run shows it there.
        let slow = try writeExecPipeline(in: dir.path, command: ["sh", "-c", "sleep 2; gzip -1 -c"], compression: "gzip")
        let terminal = try run(["script", "-qec", "\(ferryBinary) run \(slow) \(big.path)", "/dev/null"],
                               environment: nixEnvironment.merging(["TERM": "xterm"]) { $1 })
        let statuses = terminal.text.components(separatedBy: "\r\u{1B}[K").filter { $0.hasPrefix("[0/1 paths] ") }
        #expect(statuses.contains { !$0.hasPrefix("[0/1 paths] 0 B in") }, "\(statuses)")
    }
}
