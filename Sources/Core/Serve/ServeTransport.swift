/// A byte stream to a `nix-store --serve` peer: a child process, an SSH channel.
///
/// The serve protocol has no error frames: a failing peer prints `error: …` on its
/// stderr and closes the stream, so a transport keeps what the peer wrote there.
public protocol ServeTransport: AsyncByteSource, AsyncByteSink {
    /// Who is at the other end, for messages: `local store`, `ssh://builder`.
    var peer: String { get }
    /// The tail of what the peer wrote to its stderr so far.
    var peerDiagnostics: String { get }
    /// Ends the session: closes the stream and waits for the peer to go. Calling it
    /// again does nothing (a failed command closes it to read the peer's last words,
    /// and the pool closes what it discards).
    func close() async
}
