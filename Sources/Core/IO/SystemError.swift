#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: which operation, on what, and the errno it gave.
public struct SystemError: Error, CustomStringConvertible, Equatable {
    public let operation: String
    public let subject: String
    public let errno: Int32

    public init(_ operation: String, _ subject: String, errno: Int32 = currentErrno()) {
        self.operation = operation
        self.subject = subject
        self.errno = errno
    }

    /// The system's words for `errno`: "No such file or directory".
    public var reason: String { String(cString: strerror(errno)) }

    public var description: String { "\(operation) '\(subject)' failed: \(reason)" }
}

/// The calling thread's errno.
public func currentErrno() -> Int32 {
    #if canImport(Glibc)
    Glibc.errno
    #else
    Darwin.errno
    #endif
}

/// Runs `body` with `bytes` as a NUL-terminated C string (file names are bytes, not text).
func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
    try (bytes + [0]).withUnsafeBufferPointer { buffer in
        try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
    }
}

/// Writes all of `bytes` to `fd`, retrying short writes and EINTR.
public func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, subject: @autoclosure () -> String) throws(SystemError) {
    var done = 0
    while done < bytes.count {
        let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
        if n < 0 {
            if currentErrno() == EINTR { continue }
            throw SystemError("write", subject())
        }
        done += n
    }
}

/// Reads up to `count` bytes into `buffer`, retrying EINTR; 0 means end of file.
public func readSome(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, subject: @autoclosure () -> String) throws(SystemError) -> Int {
    while true {
        let n = read(fd, buffer.baseAddress!, buffer.count)
        if n >= 0 { return n }
        if currentErrno() != EINTR { throw SystemError("read", subject()) }
    }
}

/// A small text file read whole (a key, a config): Foundation's reader reports a missing
/// file as a Cocoa error domain and code, this one as `open '/etc/x' failed: No such file
/// or directory`. Text that is not UTF-8 is refused with EILSEQ, never patched up.
public func readTextFile(_ path: String) throws(SystemError) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw SystemError("open", path) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 1)
    defer { buffer.deallocate() }
    while true {
        let n = try readSome(fd, into: buffer, subject: path)
        if n == 0 {
            guard let text = String(validating: bytes, as: UTF8.self) else { throw SystemError("read", path, errno: EILSEQ) }
            return text
        }
        bytes += buffer[0..<n]
    }
}
