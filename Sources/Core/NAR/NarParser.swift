/// A push parser for NAR streams: feed it bytes as they arrive, it validates every
/// rule of the format, reports entries to a `NarVisitor`, and stops exactly at the
/// NAR's last byte (the serve protocol sends NARs with no length prefix).
///
/// It accepts only the canonical form `nix-store --dump` writes, so a NAR that passes
/// re-dumps to the same bytes and the same NarHash. Memory is bounded by the limits:
/// file contents stream through, and no token longer than its limit is ever buffered.
public struct NarParser {
    /// Bounds on what one NAR may hold; the defaults are Nix's own (master's `narMaxDepth`,
    /// `NAME_MAX`, `PATH_MAX - 1`).
    public struct Limits: Sendable {
        public var maxDepth = 64
        public var maxNameLength = 255
        public var maxTargetLength = 4095
        public init() {}
    }

    public static let magic: [UInt8] = Array("nix-archive-1".utf8)

    /// The token the grammar wants next.
    private enum Expect: Equatable {
        case magic, open, type, typeValue
        case regularAttribute, executableValue, contentsKeyword, contents
        case nodeClose, targetKeyword, targetValue
        case directoryItem, entryOpen, nameKeyword, nameValue, nodeKeyword, entryClose
        case done
    }

    /// Where the lexer is inside the current `str` token.
    private enum Lex {
        case length(have: Int)
        case body(remaining: UInt64)
        case padding(remaining: Int)
    }

    private let limits: Limits
    private var expect = Expect.magic
    private var lex = Lex.length(have: 0)
    private var lengthBytes: UInt64 = 0
    private var tokenLength: UInt64 = 0
    private var token: [UInt8] = []
    private var tokenStart: UInt64 = 0
    private var executable = false
    /// The current node's place; the last name of each open directory, for the order check.
    private var path = NarEntryPath()
    private var lastNames: [[UInt8]?] = []

    /// Bytes consumed so far: the NAR's size once `isComplete`.
    public private(set) var offset: UInt64 = 0

    public init(limits: Limits = Limits()) {
        self.limits = limits
        token.reserveCapacity(64)
    }

    /// True once the closing `)` of the root node has been read.
    public var isComplete: Bool { expect == .done }

    /// Consumes bytes from `input` until it is used up or the NAR ends, and returns how
    /// many bytes were consumed: fewer than `input.count` only when the NAR ended.
    public mutating func feed(_ input: UnsafeRawBufferPointer, to visitor: inout some NarVisitor) throws -> Int {
        var position = 0
        while position < input.count && expect != .done {
            let available = input.count - position
            switch lex {
            case .length(let have):
                if have == 0 { tokenStart = offset }
                let take = min(8 - have, available)
                for k in 0..<take {
                    lengthBytes |= UInt64(input[position + k]) << (8 * UInt64(have + k))
                }
                advance(&position, by: take)
                if have + take == 8 {
                    try startBody(length: lengthBytes, visitor: &visitor)
                    lengthBytes = 0
                } else {
                    lex = .length(have: have + take)
                }
            case .body(let remaining):
                let take = Int(min(remaining, UInt64(available)))
                let piece = UnsafeRawBufferPointer(rebasing: input[position..<(position + take)])
                if expect == .contents {
                    try visitor.fileContents(piece)
                } else {
                    token.append(contentsOf: piece)
                }
                advance(&position, by: take)
                if remaining == UInt64(take) {
                    try endBody(visitor: &visitor)
                } else {
                    lex = .body(remaining: remaining - UInt64(take))
                }
            case .padding(let remaining):
                let take = min(remaining, available)
                for k in 0..<take where input[position + k] != 0 {
                    throw failure("non-zero padding", at: offset + UInt64(k))
                }
                advance(&position, by: take)
                if remaining == take {
                    try tokenComplete(visitor: &visitor)
                } else {
                    lex = .padding(remaining: remaining - take)
                }
            }
        }
        return position
    }

    /// Throws unless the NAR is complete: call it when the input has ended.
    public func finish() throws(NarFormatError) {
        guard isComplete else { throw failure("the stream ended before the NAR did", at: offset) }
    }

    private mutating func advance(_ position: inout Int, by count: Int) {
        position += count
        offset += UInt64(count)
    }

    private func failure(_ reason: String, at where: UInt64? = nil) -> NarFormatError {
        NarFormatError(offset: `where` ?? tokenStart, entry: path, reason: reason)
    }

    // MARK: tokens

    /// The longest token accepted where the grammar is at `expect`.
    private var maxTokenLength: UInt64 {
        switch expect {
        case .nameValue: UInt64(limits.maxNameLength)
        case .targetValue: UInt64(limits.maxTargetLength)
        default: 16  // every keyword, "nix-archive-1" the longest
        }
    }

    private mutating func startBody(length: UInt64, visitor: inout some NarVisitor) throws {
        tokenLength = length
        if expect == .contents {
            try visitor.regularFile(at: path, executable: executable, size: length, offset: offset)
        } else {
            guard length <= maxTokenLength else {
                throw failure("a \(length)-byte token where \(expectation) was expected")
            }
            token.removeAll(keepingCapacity: true)
        }
        if length == 0 {
            try endBody(visitor: &visitor)
        } else {
            lex = .body(remaining: length)
        }
    }

    private mutating func endBody(visitor: inout some NarVisitor) throws {
        if expect == .contents { try visitor.endOfFile() }
        let pad = WireEncoder.paddingLength(for: tokenLength)
        if pad == 0 {
            try tokenComplete(visitor: &visitor)
        } else {
            lex = .padding(remaining: pad)
        }
    }

    private mutating func tokenComplete(visitor: inout some NarVisitor) throws {
        lex = .length(have: 0)
        if expect == .contents {
            expect = .nodeClose
        } else {
            try handle(visitor: &visitor)
        }
    }

    // MARK: grammar

    private static let open = Array("(".utf8), close = Array(")".utf8)
    private static let type = Array("type".utf8), regular = Array("regular".utf8)
    private static let symlink = Array("symlink".utf8), directory = Array("directory".utf8)
    private static let executableKeyword = Array("executable".utf8), contents = Array("contents".utf8)
    private static let target = Array("target".utf8), entry = Array("entry".utf8)
    private static let name = Array("name".utf8), node = Array("node".utf8)

    private var expectation: String {
        switch expect {
        case .magic: "the NAR header 'nix-archive-1'"
        case .open, .entryOpen: "'('"
        case .type: "'type'"
        case .typeValue: "'regular', 'symlink' or 'directory'"
        case .regularAttribute: "'executable' or 'contents'"
        case .executableValue: "an empty string after 'executable'"
        case .contentsKeyword: "'contents'"
        case .contents: "file contents"
        case .nodeClose, .entryClose: "')'"
        case .targetKeyword: "'target'"
        case .targetValue: "a symlink target"
        case .directoryItem: "'entry' or ')'"
        case .nameKeyword: "'name'"
        case .nameValue: "an entry name"
        case .nodeKeyword: "'node'"
        case .done: "the end of the NAR"
        }
    }

    private func require(_ keyword: [UInt8]) throws(NarFormatError) {
        guard token == keyword else { throw unexpected() }
    }

    private func unexpected() -> NarFormatError {
        failure("expected \(expectation), found '\(String(decoding: token.prefix(32), as: UTF8.self))'")
    }

    private mutating func handle(visitor: inout some NarVisitor) throws {
        switch expect {
        case .magic:
            guard token == NarParser.magic else { throw failure("not a NAR: the header is not 'nix-archive-1'") }
            expect = .open
        case .open:
            try require(NarParser.open)
            expect = .type
        case .type:
            try require(NarParser.type)
            expect = .typeValue
        case .typeValue:
            try startNode(visitor: &visitor)
        case .regularAttribute:
            if token == NarParser.executableKeyword {
                executable = true
                expect = .executableValue
            } else {
                try require(NarParser.contents)
                expect = .contents
            }
        case .executableValue:
            guard token.isEmpty else { throw unexpected() }
            expect = .contentsKeyword
        case .contentsKeyword:
            try require(NarParser.contents)
            expect = .contents
        case .nodeClose:
            try require(NarParser.close)
            finishNode()
        case .targetKeyword:
            try require(NarParser.target)
            expect = .targetValue
        case .targetValue:
            guard !token.isEmpty else { throw failure("empty symlink target") }
            guard !token.contains(0) else { throw failure("symlink target contains NUL") }
            try visitor.symlink(at: path, target: token)
            expect = .nodeClose
        case .directoryItem:
            if token == NarParser.entry {
                expect = .entryOpen
            } else {
                try require(NarParser.close)
                lastNames.removeLast()
                finishNode()
            }
        case .entryOpen:
            try require(NarParser.open)
            expect = .nameKeyword
        case .nameKeyword:
            try require(NarParser.name)
            expect = .nameValue
        case .nameValue:
            try enterEntry()
        case .nodeKeyword:
            try require(NarParser.node)
            expect = .open
        case .entryClose:
            try require(NarParser.close)
            expect = .directoryItem
        case .contents, .done:
            preconditionFailure("no token is handled in state \(expect)")
        }
    }

    private mutating func startNode(visitor: inout some NarVisitor) throws {
        if token == NarParser.regular {
            executable = false
            expect = .regularAttribute
        } else if token == NarParser.symlink {
            expect = .targetKeyword
        } else if token == NarParser.directory {
            try visitor.directory(at: path)
            lastNames.append(nil)
            expect = .directoryItem
        } else {
            throw failure("unknown node type '\(String(decoding: token, as: UTF8.self))'")
        }
    }

    private mutating func enterEntry() throws(NarFormatError) {
        let name = token
        if name.isEmpty || name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] {
            throw failure("invalid entry name '\(String(decoding: name, as: UTF8.self))'")
        }
        if name.contains(UInt8(ascii: "/")) || name.contains(0) {
            throw failure("entry name contains '/' or NUL")
        }
        if let previous = lastNames[lastNames.count - 1], !previous.lexicographicallyPrecedes(name) {
            throw failure("entry '\(String(decoding: name, as: UTF8.self))' is not after '\(String(decoding: previous, as: UTF8.self))': names must be unique and sorted")
        }
        guard path.depth < limits.maxDepth else {
            throw failure("directories nested deeper than \(limits.maxDepth)")
        }
        lastNames[lastNames.count - 1] = name
        path.components.append(name)
        expect = .nodeKeyword
    }

    /// The node at `path` has closed: back to its parent's entry, or the end of the NAR.
    private mutating func finishNode() {
        if path.isRoot {
            expect = .done
        } else {
            path.components.removeLast()
            expect = .entryClose
        }
    }
}
