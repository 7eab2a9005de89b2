import Dispatch
import FerryCore
import Foundation

/// libFuzzer targets for the parsers that read untrusted bytes. `FERRY_FUZZ_TARGET` picks
/// one: `nar` (the NAR push-parser, fed whole and in pieces), `narinfo` (narinfo and
/// nix-cache-info), `serve` (serve-protocol replies: handshake, QueryValidPaths,
/// QueryPathInfos, QueryClosure), `config` (a TOML pipeline config).
///
/// Built with `-sanitize=fuzzer -D FERRY_FUZZ` (`make fuzz`), libFuzzer drives it; built
/// plainly, it replays the inputs named on its command line once each, to reproduce a
/// finding under a debugger.
@_cdecl("LLVMFuzzerTestOneInput")
public func ferryFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    FuzzTarget.selected.run(bytes)
    return 0
}

enum FuzzTarget: String {
    case nar, narinfo, serve, config

    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["FERRY_FUZZ_TARGET"] ?? "nar"
        guard let target = FuzzTarget(rawValue: name) else { fatalError("FERRY_FUZZ_TARGET: nar, narinfo, serve or config") }
        return target
    }()

    func run(_ bytes: [UInt8]) {
        switch self {
        case .nar: FuzzTarget.parseNar(bytes)
        case .narinfo:
            let text = String(decoding: bytes, as: UTF8.self)
            _ = try? NarInfo(parsing: text)
            _ = try? NixCacheInfo(parsing: text)
        case .serve: FuzzTarget.talkServe(bytes)
        case .config: _ = try? PipelineConfig.parse(toml: String(decoding: bytes, as: UTF8.self), name: "fuzz.toml")
        }
    }

    private struct Ignore: NarVisitor {}

    /// Whole, then in pieces whose sizes come from the input itself.
    private static func parseNar(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var parser = NarParser(), visitor = Ignore()
            if (try? parser.feed(raw, to: &visitor)) != nil { _ = try? parser.finish() }
            var pieces = NarParser()
            var offset = 0, step = Int(bytes.first ?? 7) % 61 + 1
            while offset < raw.count {
                let end = min(offset + step, raw.count)
                guard (try? pieces.feed(UnsafeRawBufferPointer(rebasing: raw[offset..<end]), to: &visitor)) != nil else { return }
                offset = end
                step = step * 3 % 97 + 1
            }
            _ = try? pieces.finish()
        }
    }

    /// The input is everything the peer says; the client asks what Ferry asks.
    private static func talkServe(_ bytes: [UInt8]) {
        let done = DispatchSemaphore(value: 0)
        Task {
            defer { done.signal() }
            let path = try! StorePath("/nix/store/7mdq1d8cg3hkvmfcy5rk6wj0y4zvvv2g-hello-2.12")
            guard let client = try? await ServeClient.connect(over: ScriptedPeer(bytes)) else { return }
            _ = try? await client.queryValidPaths([path], lock: true)
            _ = try? await client.queryPathInfos([path])
            _ = try? await client.queryClosure([path])
            _ = try? await client.dumpStorePath(path) { _ in }
        }
        done.wait()
    }
}

/// A serve peer that says the fuzzer's bytes, whatever it is asked.
final class ScriptedPeer: ServeTransport {
    let peer = "fuzz input"
    let peerDiagnostics = ""
    private var reply: ArraySlice<UInt8>

    init(_ reply: [UInt8]) { self.reply = reply[...] }

    func read(maxLength: Int) async throws -> [UInt8] {
        let piece = reply.prefix(maxLength)
        reply = reply.dropFirst(piece.count)
        return Array(piece)
    }

    func write(_ bytes: ArraySlice<UInt8>) async throws {}

    func close() async {}
}

#if !FERRY_FUZZ
/// Plain builds: replay the files named on the command line.
@main
enum ReplayInputs {
    static func main() {
        for file in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: file) else { fatalError("cannot read \(file)") }
            let bytes = [UInt8](data)
            _ = bytes.withUnsafeBufferPointer { ferryFuzzOneInput($0.baseAddress, $0.count) }
            print("\(FuzzTarget.selected.rawValue): \(file) passed")
        }
    }
}
#endif

#if FERRY_FUZZ
/// libFuzzer's entry for programs with a `main` of their own; SwiftPM points an
/// executable's `main` at `<target>_main`, so this is where the fuzzer starts.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("ferry_fuzz_main")
func ferryFuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv, ferryFuzzOneInput)
}
#endif
