import Testing
@testable import FerryCore

@Suite("serve protocol client")
struct ServeClientTests {
    let top = try! StorePath("/nix/store/f762sh7vjhzvn5vgh8py7zj4iv8sgm3i-ferry-fixture-top")
    let dep = try! StorePath("/nix/store/srfn4ijwnc1lv2nimkijgrd2gy6hyp62-ferry-fixture-dep")
    let missing = try! StorePath("/nix/store/00000000000000000000000000000000-missing")

    private func u64(_ n: UInt64) -> [UInt8] { withUnsafeBytes(of: n.littleEndian) { Array($0) } }

    @Test("replays a real nix-store --serve session: requests, infos, closure, NAR")
    func realSession() async throws {
        let transport = ReplayTransport(reply: try Fixture.data("serve-session.server"), pieceSize: 77)
        let client = try await ServeClient.connect(over: transport)
        #expect(client.protocolVersion == 0x207)

        let infos = try await client.queryPathInfos([top, dep, missing])
        #expect(infos.map(\.path) == [top, dep].sorted())
        let topInfo = try #require(infos.first { $0.path == top })
        let narinfo = try NarInfo(parsing: Fixture.text("top.narinfo"))
        #expect(topInfo.narHash == narinfo.info.narHash)
        #expect(topInfo.narSize == narinfo.info.narSize)
        #expect(topInfo.references == narinfo.info.references)
        #expect(topInfo.deriver == narinfo.info.deriver)
        #expect(topInfo.signatures.isEmpty)

        #expect(try await client.queryValidPaths([top, missing]) == [top])
        #expect(try await client.queryClosure([top]) == [top, dep])

        var nar: [UInt8] = []
        let size = try await client.dumpStorePath(top) { nar.append(contentsOf: $0) }
        #expect(nar == (try Fixture.data("top.nar")))
        #expect(size == 1008)
        // Ferry asked exactly what the recorded client asked, byte for byte.
        #expect(transport.sent == (try Fixture.data("serve-session.client")))
    }

    @Test("a peer that is not a serve server is refused, and its connection closed") func badMagic() async {
        let transport = ReplayTransport(reply: u64(0x1234) + u64(0x207))
        await #expect(throws: ServeError.self) { _ = try await ServeClient.connect(over: transport) }
        #expect(transport.closed, "a refused peer is left waiting on an open connection")
    }

    @Test("a server older than 2.5 is refused with the version it spoke, and its connection closed") func oldServer() async {
        let transport = ReplayTransport(reply: u64(ServeProtocol.magic2) + u64(0x204))
        do {
            _ = try await ServeClient.connect(over: transport)
            Issue.record("accepted protocol 2.4")
        } catch {
            #expect("\(error)".contains("2.4"))
            #expect("\(error)".contains("2.5 or later"))
        }
        #expect(transport.closed)
    }

    @Test("when the peer hangs up, the error carries what it wrote on stderr") func peerStderr() async throws {
        let transport = ReplayTransport(reply: u64(ServeProtocol.magic2) + u64(0x207) + [1, 0, 0],
                                        diagnostics: "error: path '/nix/store/…-x' is not valid\n")
        let client = try await ServeClient.connect(over: transport)
        do {
            _ = try await client.queryValidPaths([top])
            Issue.record("no error at end of stream")
        } catch let error as ServeError {
            #expect(error.operation == "QueryValidPaths")
            #expect(error.reason.contains("closed"))
            #expect(error.description.contains("is not valid"))
            #expect(!error.isTransient, "the peer refused: a new connection would hear the same")
        }
        // The stream position is lost: the client refuses to go on.
        await #expect(throws: ServeError.self) { _ = try await client.queryClosure([top]) }
    }

    @Test("a peer that hangs up without a refusal may be tried again on a new connection", arguments: [
        "", "warning: something harmless\n",
        "error: cannot connect to socket at '/nix/var/nix/daemon-socket/socket': Connection refused\n",
    ])
    func hangUpWithoutRefusal(diagnostics: String) async throws {
        let client = try await ServeClient.connect(over: ReplayTransport(reply: u64(ServeProtocol.magic2) + u64(0x207),
                                                                         diagnostics: diagnostics))
        do {
            _ = try await client.queryValidPaths([top])
            Issue.record("no error at end of stream")
        } catch let error as ServeError {
            #expect(error.isTransient)
        }
    }

    @Test("a reply with a broken store path or hash is an error, not a crash") func badReply() async throws {
        var encoder = WireEncoder()
        encoder.u64(ServeProtocol.magic2)
        encoder.u64(0x207)
        encoder.string(top.path)
        encoder.string("")
        encoder.strings(["/nix/store/not-a-path"])
        let transport = ReplayTransport(reply: encoder.bytes)
        let client = try await ServeClient.connect(over: transport)
        await #expect(throws: ServeError.self) { _ = try await client.queryPathInfos([top]) }
    }

    @Test("a reply list is not allocated from its announced count") func hugeCount() async throws {
        let transport = ReplayTransport(reply: u64(ServeProtocol.magic2) + u64(0x207) + u64(UInt64.max))
        let client = try await ServeClient.connect(over: transport)
        await #expect(throws: ServeError.self) { _ = try await client.queryValidPaths([top]) }
    }

    @Test("AddToStoreNar sends exactly NarSize bytes, or fails without sending more") func upload() async throws {
        let nar = try Fixture.data("top.nar")
        let info = try NarInfo(parsing: Fixture.text("top.narinfo")).info
        let transport = ReplayTransport(reply: u64(ServeProtocol.magic2) + u64(0x207) + u64(1))
        let client = try await ServeClient.connect(over: transport)
        try await client.addToStoreNar(info) { upload in
            try await upload.write(nar[0..<500])
            try await upload.write(nar[500...])
        }
        #expect(Array(transport.sent.suffix(nar.count)) == nar)

        let short = ReplayTransport(reply: u64(ServeProtocol.magic2) + u64(0x207) + u64(1))
        let shortClient = try await ServeClient.connect(over: short)
        await #expect(throws: NarUploadError.self) {
            try await shortClient.addToStoreNar(info) { try await $0.write(nar[0..<10]) }
        }
        await #expect(throws: NarUploadError.self) {
            let again = try await ServeClient.connect(over: ReplayTransport(reply: u64(ServeProtocol.magic2) + u64(0x207)))
            try await again.addToStoreNar(info) { try await $0.write(nar + [0]) }
        }
    }
}
